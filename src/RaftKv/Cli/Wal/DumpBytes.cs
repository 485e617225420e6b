using System.Text;

namespace RaftKv.Cli.Wal;

/// <summary>
/// How the dump shows a key or value: as text when its bytes are valid UTF-8 without control characters, else as
/// base64; cut to <c>maxBytes</c> either way. Field <c>name</c> holds the text, <c>nameBase64</c> the base64 form;
/// a cut one adds <c>nameTruncated: true</c> and <c>nameBytes</c> (the whole length).
/// </summary>
internal static class DumpBytes
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes <paramref name="bytes"/> as field <paramref name="name"/> (see the class remarks).</summary>
    public static void Write(IDumpSink sink, string name, ReadOnlySpan<byte> bytes, int maxBytes)
    {
        var shown = bytes.Length > maxBytes ? bytes[..maxBytes] : bytes;
        if (TryPrintable(shown, bytes.Length > maxBytes, out var text)) sink.String(name, text);
        else sink.String(name + "Base64", Convert.ToBase64String(shown));
        if (bytes.Length <= maxBytes) return;
        sink.Bool(name + "Truncated", true);
        sink.Number(name + "Bytes", (long)bytes.Length);
    }

    // A cut may split a UTF-8 sequence: then up to three bytes at the end are dropped from the text form.
    private static bool TryPrintable(ReadOnlySpan<byte> bytes, bool cut, out string text)
    {
        text = "";
        for (var drop = 0; drop <= (cut ? Math.Min(3, bytes.Length) : 0); drop++)
        {
            try
            {
                text = StrictUtf8.GetString(bytes[..^drop]);
            }
            catch (DecoderFallbackException)
            {
                continue;
            }
            return !text.Any(char.IsControl);
        }
        return false;
    }
}
