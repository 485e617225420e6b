using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RaftKv.Raft.Hosting;

/// <summary>Conversions between the typed and the untyped state machine interfaces.</summary>
public static class StateMachines
{
    /// <summary>
    /// The untyped <see cref="IStateMachine"/> that <see cref="TypedRaftHost{TCommand, TResult}"/> runs over
    /// <paramref name="machine"/>: decodes each committed entry with <paramref name="codec"/> and returns the boxed
    /// result; an entry the codec cannot decode is applied as nothing (on every node alike). Use it to run a typed
    /// state machine where an untyped one is taken: a <see cref="RaftHost"/>, or RaftKv.Raft.Testing's simulator.
    /// </summary>
    public static IStateMachine Untyped<TCommand, TResult>(IStateMachine<TCommand, TResult> machine, ICommandCodec<TCommand> codec, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(codec);
        return new TypedStateMachineAdapter<TCommand, TResult>(machine, codec, logger ?? NullLogger.Instance);
    }
}
