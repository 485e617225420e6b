namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>
/// One fuzzing entry point. <see cref="Run"/> takes one input, lets only the documented rejection of the code under
/// test pass (it catches that itself) and throws <see cref="FuzzFindingException"/> when an invariant breaks; any other
/// exception that escapes is a finding too.
/// </summary>
public interface IFuzzTarget
{
    /// <summary>Short name: the corpus folder (corpus/{Name}) and the prefix of saved failing inputs.</summary>
    string Name { get; }

    /// <summary>Valid inputs built with the real writers, the starting points of mutation (deterministic).</summary>
    IReadOnlyList<byte[]> Seeds();

    /// <summary>A new input: a seed or corpus entry changed by this target's structure-aware and byte-level mutators.</summary>
    byte[] Generate(Random random, IReadOnlyList<byte[]> corpus);

    /// <summary>Executes one input (synchronously, on the calling thread).</summary>
    void Run(ReadOnlySpan<byte> input);
}
