namespace RaftKv.Robustness.Reporting;

/// <summary>
/// A fixed-size 8-bit RGB image in memory, rows top first, with the few drawing operations the PNG report needs.
/// Every operation clips to the canvas, so a coordinate outside it draws nothing there rather than throwing.
/// </summary>
internal sealed class RasterCanvas
{
    /// <summary>The largest width or height a canvas may have: it bounds the memory one report takes.</summary>
    public const int MaxSidePixels = 4096;

    private readonly byte[] _rgb;

    /// <summary>A <paramref name="width"/> by <paramref name="height"/> canvas filled with <paramref name="background"/>.</summary>
    public RasterCanvas(int width, int height, Rgb background)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, MaxSidePixels);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, MaxSidePixels);
        Width = width;
        Height = height;
        _rgb = new byte[width * height * 3];
        FillRect(0, 0, width, height, background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Row <paramref name="y"/>'s pixels, three bytes (red, green, blue) each, left first.</summary>
    public ReadOnlySpan<byte> Row(int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        return _rgb.AsSpan(y * Width * 3, Width * 3);
    }

    /// <summary>The colour at (<paramref name="x"/>, <paramref name="y"/>), which must be on the canvas.</summary>
    public Rgb this[int x, int y]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(x);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
            var row = Row(y);
            return new Rgb(row[x * 3], row[(x * 3) + 1], row[(x * 3) + 2]);
        }
    }

    /// <summary>Colours one pixel; off the canvas, nothing.</summary>
    public void SetPixel(int x, int y, Rgb colour)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        var i = ((y * Width) + x) * 3;
        _rgb[i] = colour.R;
        _rgb[i + 1] = colour.G;
        _rgb[i + 2] = colour.B;
    }

    /// <summary>Fills the rectangle from (<paramref name="x"/>, <paramref name="y"/>), the part of it on the canvas.</summary>
    public void FillRect(int x, int y, int width, int height, Rgb colour)
    {
        var x0 = Math.Clamp(x, 0, Width);
        var x1 = Math.Clamp((long)x + width, 0, Width);
        var y0 = Math.Clamp(y, 0, Height);
        var y1 = Math.Clamp((long)y + height, 0, Height);
        for (var row = y0; row < y1; row++)
        {
            for (var col = x0; col < x1; col++) SetPixel(col, row, colour);
        }
    }

    /// <summary>A one-pixel line between two points (Bresenham); the ends are first clamped onto the canvas.</summary>
    public void Line(int x0, int y0, int x1, int y1, Rgb colour)
    {
        (x0, y0) = (Math.Clamp(x0, 0, Width - 1), Math.Clamp(y0, 0, Height - 1));
        (x1, y1) = (Math.Clamp(x1, 0, Width - 1), Math.Clamp(y1, 0, Height - 1));
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        var error = dx + dy;
        // Each step moves at least one pixel towards the end, so at most dx - dy + 1 pixels are drawn.
        for (var step = 0; step <= dx - dy; step++)
        {
            SetPixel(x0, y0, colour);
            if (x0 == x1 && y0 == y1) return;
            var twice = 2 * error;
            if (twice >= dy) { error += dy; x0 += sx; }
            if (twice <= dx) { error += dx; y0 += sy; }
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> with its top left corner at (<paramref name="x"/>, <paramref name="y"/>), each
    /// font pixel a <paramref name="scale"/>-pixel square; stops at the canvas's right edge. Returns the pen's x after it.
    /// </summary>
    public int Text(int x, int y, string text, Rgb colour, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        foreach (var c in text)
        {
            if (x >= Width) break;
            var glyph = BitmapFont.Glyph(c);
            for (var row = 0; row < BitmapFont.GlyphHeight; row++)
            {
                for (var col = 0; col < BitmapFont.GlyphWidth; col++)
                {
                    if ((glyph[row] & (0x10 >> col)) != 0) FillRect(x + (col * scale), y + (row * scale), scale, scale, colour);
                }
            }
            x += BitmapFont.Advance * scale;
        }
        return x;
    }
}
