using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>Test helpers for whole backends: seeded fills, raw comparison, streams in memory.</summary>
internal static class BackendContent
{
    public static readonly KvBackendOptions Small =
        KvBackendOptions.Default with { BlockCacheSizeBytes = 8L << 20, WriteBufferSizeBytes = 4L << 20 };

    /// <summary>
    /// Commits <paramref name="keys"/> seeded random unique keys (4..64 bytes) and values (0..<paramref name="valueBytesMax"/>
    /// bytes, some empty) in batches of 1,000, one applied index each, and deletes every tenth key again, so the
    /// backend holds tombstones too. Returns the backend's applied index.
    /// </summary>
    public static ulong FillRandom(KvBackend backend, int keys, int seed, int valueBytesMax = 200)
    {
        var random = new Random(seed);
        using var batch = new BackendBatch();
        var index = backend.AppliedIndex;
        var deletes = new List<byte[]>();
        for (var i = 0; i < keys; i++)
        {
            // Random bytes, then the number big-endian: unique, and still spread over the key space.
            var key = new byte[random.Next(0, 61) + 4];
            random.NextBytes(key);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(key.Length - 4), i);
            var value = new byte[random.Next(10) == 0 ? 0 : random.Next(valueBytesMax + 1)];
            random.NextBytes(value);
            batch.Put(key, value);
            if (i % 10 == 0)
            {
                deletes.Add(key);
            }
            if (batch.Count == 1_000 || i == keys - 1)
            {
                backend.Commit(batch, ++index);
            }
        }
        foreach (var key in deletes)
        {
            batch.Delete(key);
        }
        backend.Commit(batch, ++index);
        return index;
    }

    /// <summary>Asserts both backends hold the same applied index and exactly the same stored records; returns the record count.</summary>
    public static int AssertSame(KvBackend expected, KvBackend actual)
    {
        Assert.Equal(expected.AppliedIndex, actual.AppliedIndex);
        using var expectedView = expected.OpenView();
        using var actualView = actual.OpenView();
        return AssertSame(expectedView, actualView);
    }

    public static int AssertSame(BackendView expectedView, BackendView actualView)
    {
        Assert.Equal(expectedView.AppliedIndex, actualView.AppliedIndex);
        using var e = expectedView.IterateAllStored();
        using var a = actualView.IterateAllStored();
        var count = 0;
        for (; e.Valid; e.Next(), a.Next(), count++)
        {
            Assert.True(a.Valid, $"the restored backend ends after {count} records");
            Assert.True(e.StoredKey.SequenceEqual(a.StoredKey), $"record {count}: keys differ");
            Assert.True(e.Value.SequenceEqual(a.Value), $"record {count}: values differ");
        }
        Assert.False(a.Valid, $"the restored backend has more than {count} records");
        return count;
    }

    public static byte[] ToBytes(KvBackend backend)
    {
        using var view = backend.OpenView();
        using var stream = new MemoryStream();
        var written = BackendStream.Write(view, stream);
        Assert.Equal(stream.Length, written);
        return stream.ToArray();
    }
}
