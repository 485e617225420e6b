namespace RaftKv.Robustness.Reporting;

/// <summary>The colours both renderings use, so a series looks the same on the page and in the PNG.</summary>
internal static class ReportPalette
{
    /// <summary>The background.</summary>
    public static readonly Rgb Background = new(0xff, 0xff, 0xff);

    /// <summary>Text.</summary>
    public static readonly Rgb Text = new(0x22, 0x22, 0x22);

    /// <summary>Axes.</summary>
    public static readonly Rgb Axis = new(0x88, 0x88, 0x88);

    /// <summary>The band behind a fault window.</summary>
    public static readonly Rgb FaultShade = new(0xd0, 0xd7, 0xde);

    /// <summary>Answered operations per second.</summary>
    public static readonly Rgb Answered = new(0x09, 0x69, 0xda);

    /// <summary>Operations of unknown outcome per second; also a failed check.</summary>
    public static readonly Rgb Unknown = new(0xcf, 0x22, 0x2e);

    /// <summary>The median latency; also a passed check.</summary>
    public static readonly Rgb P50 = new(0x1a, 0x7f, 0x37);

    /// <summary>The 99th percentile latency; also a check that could not decide.</summary>
    public static readonly Rgb P99 = new(0x9a, 0x67, 0x00);

    /// <summary>A check that passed (the page's "ok" class).</summary>
    public static Rgb Passed => P50;

    /// <summary>A check that failed (the page's "bad" class).</summary>
    public static Rgb Failed => Unknown;

    /// <summary>A check that ran out of its budget before deciding (the page's "unk" class).</summary>
    public static Rgb Undecided => P99;
}
