using System.Text;

namespace RaftKv.Cli.Client;

/// <summary>A plain-text table with a header row and columns padded to their widest cell.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params object?[] cells) => _rows.Add(cells.Select(c => Convert.ToString(c, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray());

    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = i < cells.Count ? cells[i] : "";
                text.Append(i == widths.Length - 1 ? cell : cell.PadRight(widths[i] + 2));
            }
            while (text.Length > 0 && text[^1] == ' ') text.Length--;
            text.Append('\n');
        }
        Line(headers);
        foreach (var row in _rows) Line(row);
        return text.ToString();
    }
}
