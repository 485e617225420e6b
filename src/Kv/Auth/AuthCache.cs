namespace RaftKv.Kv.Auth;

/// <summary>
/// The decoded <see cref="AuthState"/> of the last auth record seen: records are replaced whole, never changed in
/// place, so the same bytes (same array, offset and length) decode to the same state and are decoded once.
/// </summary>
internal sealed class AuthCache
{
    private Entry last = new(ReadOnlyMemory<byte>.Empty, AuthState.Empty);

    /// <summary>The state of <paramref name="record"/>; thread-safe (a race decodes twice, harmlessly).</summary>
    public AuthState Get(ReadOnlyMemory<byte> record)
    {
        var seen = Volatile.Read(ref last);
        if (seen.Record.Equals(record) || (seen.Record.IsEmpty && record.IsEmpty))
        {
            return seen.State;
        }

        var state = AuthState.Decode(record.Span);
        Volatile.Write(ref last, new Entry(record, state));
        return state;
    }

    private sealed record Entry(ReadOnlyMemory<byte> Record, AuthState State);
}
