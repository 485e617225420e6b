using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace RaftKv.Cli;

/// <summary>
/// Options that fall back to an environment variable, as etcd's flags fall back to ETCD_*: <c>--data-dir</c> reads
/// <c>RAFTKV_DATA_DIR</c> when not given on the command line.
/// </summary>
internal static class EnvOption
{
    public static string VariableFor(string flag) => "RAFTKV_" + flag.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    public static Option<string> String(string flag, string description, string? defaultValue)
    {
        var variable = VariableFor(flag);
        return new Option<string>(flag)
        {
            Description = $"{description} [env {variable}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) ?? defaultValue ?? "",
        };
    }

    public static Option<long> Int64(string flag, string description, long defaultValue, long min, long max)
    {
        var variable = VariableFor(flag);
        var option = new Option<long>(flag)
        {
            Description = $"{description} [env {variable}, default {defaultValue}]",
            DefaultValueFactory = result =>
            {
                var text = Environment.GetEnvironmentVariable(variable);
                if (text is null) return defaultValue;
                if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)) return value;
                result.AddError($"{variable}='{text}' is not a number");
                return defaultValue;
            },
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<long>();
            if (value < min || value > max) result.AddError($"{flag} must be between {min} and {max}, was {value}");
        });
        return option;
    }

    public static Option<bool> Flag(string flag, string description)
    {
        var variable = VariableFor(flag);
        return new Option<bool>(flag)
        {
            Description = $"{description} [env {variable}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { } text && (text == "1" || text.Equals("true", StringComparison.OrdinalIgnoreCase)),
        };
    }
}
