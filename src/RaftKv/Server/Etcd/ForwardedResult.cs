using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using RaftKv.Kv;

namespace RaftKv.Server.Etcd;

/// <summary>The outcome of a write, wherever it was proposed: the etcd response, or etcd's error.</summary>
public readonly record struct WriteOutcome(IMessage? Response, int ErrorCode, string ErrorMessage)
{
    public bool Failed => ErrorCode != 0;

    public static WriteOutcome From(ApplyResult result) =>
        result.Error is { } e ? new WriteOutcome(null, (int)e.Code, e.Message) : new WriteOutcome(result.Response, 0, "");
}

/// <summary>
/// Wire form of a <see cref="WriteOutcome"/> returned by the leader to a follower that forwarded a client write:
/// <c>[int32 code][int32 message bytes][message][response bytes]</c>, little-endian. The follower knows the
/// response type from the request it sent.
/// </summary>
public static class ForwardedResult
{
    private const int HeaderBytes = 8;

    public static byte[] Encode(WriteOutcome outcome)
    {
        var message = Encoding.UTF8.GetBytes(outcome.ErrorMessage);
        var response = outcome.Response?.ToByteArray() ?? [];
        var buffer = new byte[HeaderBytes + message.Length + response.Length];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, outcome.ErrorCode);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(4), message.Length);
        message.CopyTo(buffer, HeaderBytes);
        response.CopyTo(buffer, HeaderBytes + message.Length);
        return buffer;
    }

    /// <exception cref="InvalidDataException">The reply is malformed.</exception>
    public static WriteOutcome Decode(ReadOnlySpan<byte> data, MessageParser responseParser)
    {
        if (data.Length < HeaderBytes) throw new InvalidDataException($"forwarded result of {data.Length} bytes is shorter than its header");
        var code = BinaryPrimitives.ReadInt32LittleEndian(data);
        var messageBytes = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        if (messageBytes < 0 || messageBytes > data.Length - HeaderBytes)
            throw new InvalidDataException($"forwarded result announces a {messageBytes}-byte message in {data.Length} bytes");
        var message = Encoding.UTF8.GetString(data.Slice(HeaderBytes, messageBytes));
        if (code != 0) return new WriteOutcome(null, code, message);
        return new WriteOutcome(responseParser.ParseFrom(data[(HeaderBytes + messageBytes)..]), 0, "");
    }
}
