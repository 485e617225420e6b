using System.Globalization;
using Google.Protobuf;

namespace RaftKv.Cli.Bench;

/// <summary>Keys (a decimal index zero-padded to --key-size bytes) and the one random value all writes carry.</summary>
public sealed class KeyGenerator
{
    private readonly int _keySizeBytes;
    private readonly long _keySpace;
    private readonly bool _sequential;

    /// <summary>Creates the generator; <paramref name="keySizeBytes"/> must hold the digits of <paramref name="keySpace"/> - 1.</summary>
    public KeyGenerator(int keySizeBytes, long keySpace, bool sequential, int valueSizeBytes)
    {
        if (keySizeBytes < DigitsFor(keySpace)) throw new ArgumentOutOfRangeException(nameof(keySizeBytes), $"{keySizeBytes} bytes cannot hold {keySpace} distinct keys");
        _keySizeBytes = keySizeBytes;
        _keySpace = keySpace;
        _sequential = sequential;
        var value = new byte[valueSizeBytes];
        new Random(7).NextBytes(value);
        Value = ByteString.CopyFrom(value);
    }

    /// <summary>The value every put writes.</summary>
    public ByteString Value { get; }

    /// <summary>Digits of the largest index in a key space of <paramref name="keySpace"/> keys.</summary>
    public static int DigitsFor(long keySpace) => Math.Max(1, (keySpace - 1).ToString(CultureInfo.InvariantCulture).Length);

    /// <summary>The key index of request <paramref name="sequence"/>: sequence mod key space, or uniformly random.</summary>
    public long NextIndex(BenchClient client, long sequence) => _sequential ? sequence % _keySpace : client.Random.NextInt64(_keySpace);

    /// <summary>The key for <paramref name="index"/>.</summary>
    public ByteString Key(long index) => ByteString.CopyFromUtf8(index.ToString(CultureInfo.InvariantCulture).PadLeft(_keySizeBytes, '0'));
}
