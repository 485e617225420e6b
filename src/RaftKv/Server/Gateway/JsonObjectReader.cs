using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace RaftKv.Server.Gateway;

/// <summary>
/// Splits a request body that carries several JSON values one after another (a streaming call's requests, as etcd's
/// gateway reads them) into one string per value, as the bytes arrive. A value is bounded by a byte limit; text that
/// is not JSON ends the stream with <see cref="JsonException"/>.
/// </summary>
internal static class JsonObjectReader
{
    private static readonly JsonReaderOptions Options = new() { AllowMultipleValues = true, MaxDepth = 64 };

    /// <summary>The values of <paramref name="body"/>, each at most <paramref name="maxValueBytes"/> long.</summary>
    public static async IAsyncEnumerable<string> ReadAsync(PipeReader body, long maxValueBytes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            try
            {
                while (TryTake(buffer.Slice(consumed), result.IsCompleted, out var end, out var value))
                {
                    // A whole value that arrived in one read is held to the limit too, not only one still arriving.
                    if (value is not null && buffer.Slice(consumed, end).Length > maxValueBytes) throw TooLarge(maxValueBytes);
                    consumed = end;
                    if (value is null) break; // only whitespace is left
                    yield return value;
                }
                if (buffer.Slice(consumed).Length > maxValueBytes) throw TooLarge(maxValueBytes);
                if (result.IsCompleted || result.IsCanceled) yield break;
            }
            finally
            {
                body.AdvanceTo(consumed, buffer.End);
            }
        }
    }

    private static JsonException TooLarge(long maxValueBytes) => new($"a request in the stream is larger than the limit of {maxValueBytes} bytes");

    // One complete value from the start of the buffer. False: more bytes are needed. A null value: only whitespace.
    private static bool TryTake(ReadOnlySequence<byte> buffer, bool final, out SequencePosition end, out string? value)
    {
        end = buffer.Start;
        value = null;
        if (IsWhitespace(buffer))
        {
            end = buffer.End;
            return !buffer.IsEmpty;
        }
        var reader = new Utf8JsonReader(buffer, final, new JsonReaderState(Options));
        if (!reader.Read()) return final ? throw new JsonException("unexpected end of JSON input") : false;
        if (!reader.TrySkip()) return final ? throw new JsonException("unexpected end of JSON input") : false;
        end = reader.Position;
        var taken = buffer.Slice(buffer.Start, end);
        value = Encoding.UTF8.GetString(taken);
        return true;
    }

    private static bool IsWhitespace(ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer)
            foreach (var b in segment.Span)
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }
}
