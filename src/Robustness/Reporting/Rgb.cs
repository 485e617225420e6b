using System.Globalization;

namespace RaftKv.Robustness.Reporting;

/// <summary>An 8-bit-per-channel colour, as the PNG stores it and as CSS writes it.</summary>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>The colour as CSS writes it: "#rrggbb".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");
}
