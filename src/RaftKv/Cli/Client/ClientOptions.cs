using System.CommandLine;

namespace RaftKv.Cli.Client;

/// <summary>Options every client command takes: where to connect, timeouts and the output format.</summary>
internal sealed class ClientOptions
{
    public Option<string> Endpoints { get; } = EnvOption.String("--endpoints",
        "Comma-separated etcd v3 gRPC endpoints, tried in order", "127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379");

    public Option<string> Output { get; } = new("--output", "-o")
    {
        Description = "Output format: table (for people) or json (for scripts)",
        DefaultValueFactory = _ => "table",
    };

    public Option<int> DialTimeoutMs { get; } = new("--dial-timeout")
    {
        Description = "Time (ms) to connect to one endpoint before trying the next",
        DefaultValueFactory = _ => 2000,
    };

    public Option<int> CommandTimeoutMs { get; } = new("--command-timeout")
    {
        Description = "Time (ms) one request may take at one endpoint",
        DefaultValueFactory = _ => 5000,
    };

    public ClientOptions()
    {
        Output.AcceptOnlyFromAmong("table", "json");
        foreach (var o in new[] { DialTimeoutMs, CommandTimeoutMs })
        {
            o.Validators.Add(r =>
            {
                var v = r.GetValueOrDefault<int>();
                if (v is < 10 or > 600_000) r.AddError($"{o.Name} must be between 10 and 600000 ms, was {v}");
            });
        }
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Endpoints);
        command.Options.Add(Output);
        command.Options.Add(DialTimeoutMs);
        command.Options.Add(CommandTimeoutMs);
    }

    /// <summary>The parsed endpoints and timeouts (throws <see cref="FormatException"/> for a bad endpoint).</summary>
    public EtcdEndpoints Connect(ParseResult parse) => EtcdEndpoints.Parse(parse.GetValue(Endpoints)!,
        TimeSpan.FromMilliseconds(parse.GetValue(DialTimeoutMs)), TimeSpan.FromMilliseconds(parse.GetValue(CommandTimeoutMs)));

    public bool Json(ParseResult parse) => parse.GetValue(Output) == "json";
}
