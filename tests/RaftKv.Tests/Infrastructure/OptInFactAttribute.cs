namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// A fact that runs only when the environment variable it names is set (a long measurement, not a check CI needs);
/// otherwise it is skipped with a message saying how to run it.
/// </summary>
public sealed class OptInFactAttribute : FactAttribute
{
    public OptInFactAttribute(string variable)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            Skip = $"opt-in measurement: set {variable} to run it";
        }
    }
}
