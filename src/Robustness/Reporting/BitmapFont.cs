using System.Globalization;

namespace RaftKv.Robustness.Reporting;

/// <summary>
/// A 5x7 bitmap font of our own for the PNG report: digits, capital letters (small letters are drawn as capitals)
/// and the symbols the report writes; any other character is drawn as a hollow box.
/// </summary>
internal static class BitmapFont
{
    /// <summary>A glyph's width in pixels.</summary>
    public const int GlyphWidth = 5;

    /// <summary>A glyph's height in pixels.</summary>
    public const int GlyphHeight = 7;

    /// <summary>How far one character moves the pen: the glyph and one pixel of space.</summary>
    public const int Advance = GlyphWidth + 1;

    // One glyph a line: the character, then its seven rows from the top, each five bits with 0x10 the leftmost pixel.
    private const string Glyphs = """
        0 0E 11 13 15 19 11 0E
        1 04 0C 04 04 04 04 0E
        2 0E 11 01 02 04 08 1F
        3 1F 02 04 02 01 11 0E
        4 02 06 0A 12 1F 02 02
        5 1F 10 1E 01 01 11 0E
        6 06 08 10 1E 11 11 0E
        7 1F 01 02 04 08 08 08
        8 0E 11 11 0E 11 11 0E
        9 0E 11 11 0F 01 02 0C
        A 0E 11 11 1F 11 11 11
        B 1E 11 11 1E 11 11 1E
        C 0E 11 10 10 10 11 0E
        D 1C 12 11 11 11 12 1C
        E 1F 10 10 1E 10 10 1F
        F 1F 10 10 1E 10 10 10
        G 0E 11 10 17 11 11 0F
        H 11 11 11 1F 11 11 11
        I 0E 04 04 04 04 04 0E
        J 07 02 02 02 02 12 0C
        K 11 12 14 18 14 12 11
        L 10 10 10 10 10 10 1F
        M 11 1B 15 15 11 11 11
        N 11 11 19 15 13 11 11
        O 0E 11 11 11 11 11 0E
        P 1E 11 11 1E 10 10 10
        Q 0E 11 11 11 15 12 0D
        R 1E 11 11 1E 14 12 11
        S 0F 10 10 0E 01 01 1E
        T 1F 04 04 04 04 04 04
        U 11 11 11 11 11 11 0E
        V 11 11 11 11 11 0A 04
        W 11 11 11 15 15 15 0A
        X 11 11 0A 04 0A 11 11
        Y 11 11 0A 04 04 04 04
        Z 1F 01 02 04 08 10 1F
        . 00 00 00 00 00 0C 0C
        , 00 00 00 00 0C 04 08
        : 00 0C 0C 00 0C 0C 00
        ; 00 0C 0C 00 0C 04 08
        - 00 00 00 1F 00 00 00
        + 00 04 04 1F 04 04 00
        = 00 00 1F 00 1F 00 00
        / 00 01 02 04 08 10 00
        ( 02 04 08 08 08 04 02
        ) 08 04 02 02 02 04 08
        [ 0E 08 08 08 08 08 0E
        ] 0E 02 02 02 02 02 0E
        < 02 04 08 10 08 04 02
        > 08 04 02 01 02 04 08
        % 18 19 02 04 08 13 03
        # 0A 0A 1F 0A 1F 0A 0A
        ! 04 04 04 04 04 00 04
        ? 0E 11 01 02 04 00 04
        ' 0C 04 08 00 00 00 00
        " 0A 0A 0A 00 00 00 00
        _ 00 00 00 00 00 00 1F
        * 00 04 15 0E 15 04 00
        | 04 04 04 04 04 04 04
        & 0C 12 14 08 15 12 0D
        @ 0E 11 01 0D 15 15 0E
        $ 04 0F 14 0E 05 1E 04
        ~ 00 00 08 15 02 00 00
        """;

    private static readonly byte[] Box = [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F];
    private static readonly byte[] Blank = new byte[GlyphHeight];
    private static readonly byte[][] Ascii = Parse();

    /// <summary>The seven rows of <paramref name="c"/>'s glyph, top first; bit 0x10 is the leftmost pixel.</summary>
    public static ReadOnlySpan<byte> Glyph(char c)
    {
        var upper = char.ToUpperInvariant(c);
        return upper < Ascii.Length && Ascii[upper] is { } glyph ? glyph : Box;
    }

    /// <summary>
    /// <paramref name="text"/> cut to at most <paramref name="widthPixels"/> at <paramref name="scale"/>, ending in
    /// ".." where it was cut.
    /// </summary>
    public static string Fit(string text, int widthPixels, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chars = Math.Max(0, widthPixels / (Advance * scale));
        if (text.Length <= chars) return text;
        return chars <= 2 ? text[..chars] : string.Concat(text.AsSpan(0, chars - 2), "..");
    }

    private static byte[][] Parse()
    {
        var ascii = new byte[128][];
        ascii[' '] = Blank;
        foreach (var line in Glyphs.Split('\n'))
        {
            var rows = line[2..].Split(' ');
            if (rows.Length != GlyphHeight) throw new InvalidOperationException($"The font's line '{line}' has {rows.Length} rows, not {GlyphHeight}.");
            ascii[line[0]] = [.. rows.Select(r => byte.Parse(r, NumberStyles.HexNumber, CultureInfo.InvariantCulture))];
        }
        return ascii;
    }
}
