using Google.Protobuf;
using RaftKv.Etcd.Api;

namespace RaftKv.Kv.Tests;

/// <summary>
/// The disk engine escapes keys so that byte order on disk is etcd's key order (0x00 becomes 0x00 0xFF; a key ends
/// with 0x00 0x01). Keys built from exactly the bytes that escaping is about (0x00, 0xFF, prefixes of one another) and
/// ranges between them must read the same on disk as in memory, at every revision, with compactions in between.
/// </summary>
public sealed class EngineKeyBytesTests
{
    private static readonly byte[][] Keys =
        [[0x00], [0x00, 0x00], [0x00, 0x01], [0x00, 0xFF], [0x61], [0x61, 0x00], [0x61, 0x00, 0x00], [0x61, 0x62], [0x62], [0xFF], [0xFF, 0x00], [0xFF, 0xFF]];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void NastyKeyBytes_ReadTheSameOnBothEngines(int seed)
    {
        var random = new Random(seed);
        using var memory = new TestStore();
        using var disk = TestStore.OnDisk();
        for (var step = 0; step < 400; step++)
        {
            var key = ByteString.CopyFrom(Keys[random.Next(Keys.Length)]);
            var command = random.Next(10) switch
            {
                < 6 => new KvCommand { Put = new PutRequest { Key = key, Value = ByteString.CopyFrom((byte)step), PrevKv = true } },
                < 8 => new KvCommand { DeleteRange = new DeleteRangeRequest { Key = key, RangeEnd = RandomEnd(random), PrevKv = true } },
                8 when memory.Store.Revision > 2 => new KvCommand { Compaction = new CompactionRequest { Revision = random.NextInt64(Math.Max(1, memory.Store.CompactRevision), memory.Store.Revision + 1) } },
                _ => new KvCommand { Put = new PutRequest { Key = key, Value = ByteString.Empty } },
            };
            var a = memory.Apply(command);
            var b = disk.Apply(command);
            Assert.Equal(a.Error, b.Error);
            Assert.Equal(a.Response, b.Response);

            var range = new RangeRequest
            {
                Key = ByteString.CopyFrom(Keys[random.Next(Keys.Length)]),
                RangeEnd = RandomEnd(random),
                Revision = random.NextInt64(Math.Max(1, memory.Store.CompactRevision), memory.Store.Revision + 1),
            };
            Assert.Equal(memory.Store.Range(range), disk.Store.Range(range));
        }

        Assert.Equal(memory.Store.Hash().Hash, disk.Store.Hash().Hash);
        disk.Store.CheckInvariants();
    }

    // A single key, everything from the key on ("\0"), or an end among the keys (possibly at or before the start).
    private static ByteString RandomEnd(Random random) => random.Next(3) switch
    {
        0 => ByteString.Empty,
        1 => KeyRanges.FromKeyEnd,
        _ => ByteString.CopyFrom(Keys[random.Next(Keys.Length)]),
    };
}
