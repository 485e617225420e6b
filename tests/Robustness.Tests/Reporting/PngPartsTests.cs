using System.Text;
using RaftKv.Robustness.Reporting;

namespace RaftKv.Robustness.Tests.Reporting;

/// <summary>The PNG report's parts on their own: the CRC, the font, the canvas.</summary>
public sealed class PngPartsTests
{
    [Fact]
    public void Crc32_GivesTheCheckValue_AndChains()
    {
        // The CRC-32 of "123456789" is 0xCBF43926 (the standard check value for ISO 3309 / PNG's CRC).
        var digits = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xCBF43926u, Crc32.Append(0, digits));
        Assert.Equal(Crc32.Append(0, digits), Crc32.Append(Crc32.Append(0, digits.AsSpan(0, 4)), digits.AsSpan(4)));
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(PngImage.NaiveCrc32(bytes), Crc32.Append(0, bytes));
    }

    [Fact]
    public void TheFont_DrawsSmallLettersAsCapitals_AndUnknownCharactersAsABox()
    {
        Assert.True(BitmapFont.Glyph('a').SequenceEqual(BitmapFont.Glyph('A')));
        Assert.False(BitmapFont.Glyph('A').SequenceEqual(BitmapFont.Glyph('B')));
        Assert.True(BitmapFont.Glyph('µ').SequenceEqual(BitmapFont.Glyph('\u2603')));
        Assert.All(BitmapFont.Glyph(' ').ToArray(), row => Assert.Equal(0, row));
    }

    [Fact]
    public void Fit_CutsALongTextToTheWidth()
    {
        Assert.Equal("short", BitmapFont.Fit("short", 100));
        var cut = BitmapFont.Fit("kill -9 on member B", 10 * BitmapFont.Advance);
        Assert.Equal("kill -9 ..", cut);
    }

    [Fact]
    public void TheCanvas_ClipsWhatFallsOffIt()
    {
        var canvas = new RasterCanvas(10, 5, ReportPalette.Background);
        canvas.FillRect(-5, -5, 8, 7, ReportPalette.FaultShade);
        var end = canvas.Text(8, 0, "WW", ReportPalette.Text);
        canvas.Line(-100, 4, 100, 4, ReportPalette.Axis);
        Assert.Equal(ReportPalette.FaultShade, canvas[2, 1]);
        Assert.Equal(ReportPalette.Background, canvas[3, 2]);
        Assert.All(Enumerable.Range(0, 10), x => Assert.Equal(ReportPalette.Axis, canvas[x, 4]));
        Assert.Equal(ReportPalette.Text, canvas[8, 0]); // W's top left pixel; the second W is past the edge
        Assert.Equal(8 + BitmapFont.Advance, end);
    }
}
