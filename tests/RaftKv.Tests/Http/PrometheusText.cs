using System.Globalization;
using System.Text.RegularExpressions;

namespace RaftKv.Tests.Http;

/// <summary>A strict reader of Prometheus' text exposition format 0.0.4: fails on any line it does not understand.</summary>
public static partial class PrometheusText
{
    /// <summary>One sample: metric name, labels and value.</summary>
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    /// <summary>Families (name → type) and samples; throws <see cref="FormatException"/> naming the bad line.</summary>
    public static (IReadOnlyDictionary<string, string> Types, IReadOnlyList<Sample> Samples) Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helps = new HashSet<string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var m = Help().Match(line);
                if (!m.Success || !helps.Add(m.Groups[1].Value)) throw Bad(lineNumber, line, "bad or repeated HELP");
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var m = TypeLine().Match(line);
                if (!m.Success || !types.TryAdd(m.Groups[1].Value, m.Groups[2].Value)) throw Bad(lineNumber, line, "bad or repeated TYPE");
                continue;
            }
            if (line.StartsWith('#')) continue; // comment
            var s = SampleLine().Match(line);
            if (!s.Success) throw Bad(lineNumber, line, "not a sample");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (s.Groups[2].Success && s.Groups[2].Value.Length > 0)
            {
                foreach (Match l in Label().Matches(s.Groups[2].Value))
                {
                    if (!labels.TryAdd(l.Groups[1].Value, l.Groups[2].Value)) throw Bad(lineNumber, line, "repeated label");
                }
                if (Label().Replace(s.Groups[2].Value, "").Trim(',', ' ').Length > 0) throw Bad(lineNumber, line, "malformed labels");
            }
            var valueText = s.Groups[3].Value;
            var value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(lineNumber, line, "bad value"),
            };
            var name = s.Groups[1].Value;
            var family = types.Keys.FirstOrDefault(f => name == f || name == f + "_bucket" || name == f + "_sum" || name == f + "_count")
                ?? throw Bad(lineNumber, line, "sample before its TYPE");
            if (types[family] == "histogram" && name.EndsWith("_bucket", StringComparison.Ordinal) && !labels.ContainsKey("le"))
                throw Bad(lineNumber, line, "bucket without le");
            samples.Add(new Sample(name, labels, value));
        }
        return (types, samples);
    }

    private static FormatException Bad(int number, string line, string why) => new($"line {number}: {why}: {line}");

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$")]
    private static partial Regex Help();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: -?[0-9]+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
