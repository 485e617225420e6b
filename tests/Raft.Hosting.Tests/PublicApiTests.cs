using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// The exported surface of each library package (RaftKv.Raft, .Storage, .Hosting, .Transport, .Testing), one line per
/// public type and member, compared with the checked-in PublicApi.&lt;name&gt;.txt so that every change of an API shows
/// up in review (issue 17). After an intended change, regenerate the files:
/// <c>RAFTKV_UPDATE_API=1 dotnet test tests/Raft.Hosting.Tests --filter PublicApi</c>, and commit them with the change.
/// </summary>
public sealed class PublicApiTests
{
    private const string UpdateVariable = "RAFTKV_UPDATE_API";

    /// <summary>Each library assembly by the short name of its listing file.</summary>
    public static TheoryData<string> Libraries => ["Raft", "Storage", "Hosting", "Transport", "Testing"];

    private static Assembly AssemblyOf(string name) => name switch
    {
        "Raft" => typeof(RaftNode).Assembly,
        "Storage" => typeof(RaftKv.Raft.Storage.DurableStorage).Assembly,
        "Hosting" => typeof(RaftHost).Assembly,
        "Transport" => typeof(RaftKv.Raft.Transport.GrpcTransport).Assembly,
        "Testing" => typeof(RaftKv.Raft.Testing.Cluster).Assembly,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a library"),
    };

    [Theory]
    [MemberData(nameof(Libraries))]
    public void TheLibrarysPublicApi_MatchesTheCheckedInListing(string library)
    {
        var assembly = AssemblyOf(library);
        var actual = PublicApiListing.Describe(assembly);
        var path = Path.Combine(SourceDirectory(), $"PublicApi.{library}.txt");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllLines(path, actual);
            return;
        }
        var expected = File.Exists(path) ? File.ReadAllLines(path) : [];
        var removed = expected.Except(actual, StringComparer.Ordinal).Select(l => "- " + l);
        var added = actual.Except(expected, StringComparer.Ordinal).Select(l => "+ " + l);
        var diff = removed.Concat(added).ToArray();
        Assert.True(diff.Length == 0 && expected.SequenceEqual(actual, StringComparer.Ordinal),
            $"The public API of {assembly.GetName().Name} differs from {path} (- listed only there, + only in the assembly):\n"
            + string.Join('\n', diff)
            + $"\nIf the change is intended, regenerate the file with {UpdateVariable}=1 dotnet test tests/Raft.Hosting.Tests --filter PublicApi and commit it.");
    }

    private static string SourceDirectory([CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;
}

/// <summary>Prints an assembly's public surface: sorted, one stable line per type and per member.</summary>
internal static class PublicApiListing
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static string[] Describe(Assembly assembly) =>
        assembly.GetExportedTypes()
            .SelectMany(t => Members(t).Select(m => $"{TypeName(t, full: true)} :: {m}").Prepend(TypeLine(t)))
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static string TypeLine(Type type)
    {
        var kind = type switch
        {
            { IsEnum: true } => "enum",
            { IsInterface: true } => "interface",
            { IsValueType: true } => "struct",
            _ when typeof(Delegate).IsAssignableFrom(type.BaseType) => "delegate",
            { IsAbstract: true, IsSealed: true } => "static class",
            { IsAbstract: true } => "abstract class",
            { IsSealed: true } => "sealed class",
            _ => "class",
        };
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum)) bases.Add(TypeName(b));
        bases.AddRange(type.GetInterfaces().Select(i => TypeName(i)).Order(StringComparer.Ordinal));
        return $"{TypeName(type, full: true)} :: {kind}" + (bases.Count > 0 ? " : " + string.Join(", ", bases) : "");
    }

    private static IEnumerable<string> Members(Type type)
    {
        if (type.IsEnum)
        {
            foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Static))
                yield return $"{f.Name} = {Convert.ToUInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture)}";
            yield break;
        }
        foreach (var member in type.GetMembers(Declared))
        {
            if (member.Name.Contains('<', StringComparison.Ordinal) || !IsVisible(member)) continue;
            var line = member switch
            {
                ConstructorInfo c => $"ctor({Parameters(c)})",
                MethodInfo m when m.IsSpecialName && !m.Name.StartsWith("op_", StringComparison.Ordinal) => null, // accessors
                MethodInfo m => $"{Modifiers(m)}method {TypeName(m.ReturnType)} {m.Name}{GenericArguments(m)}({Parameters(m)})",
                PropertyInfo p => $"{Modifiers(p.GetMethod ?? p.SetMethod!)}property {TypeName(p.PropertyType)} {p.Name} {{ {Accessors(p)}}}",
                EventInfo e => $"{Modifiers(e.AddMethod!)}event {TypeName(e.EventHandlerType!)} {e.Name}",
                FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}field {TypeName(f.FieldType)} {f.Name}",
                Type => null, // nested types are listed on their own
                _ => $"{member.MemberType} {member.Name}",
            };
            if (line is not null) yield return line;
        }
    }

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => new[] { p.GetMethod, p.SetMethod }.Any(a => a is not null && IsVisible(a)),
        EventInfo e => e.AddMethod is { } add && IsVisible(add),
        _ => true,
    };

    private static string Modifiers(MethodInfo m)
    {
        var visibility = m.IsPublic ? "" : "protected ";
        if (m.IsStatic) return visibility + "static ";
        if (m.DeclaringType!.IsInterface) return visibility + (m.IsAbstract ? "" : "default ");
        if (m.IsAbstract) return visibility + "abstract ";
        if (m.IsVirtual && !m.IsFinal) return visibility + (m.GetBaseDefinition() == m ? "virtual " : "override ");
        return visibility;
    }

    private static string Accessors(PropertyInfo p)
    {
        var text = p.GetMethod is { } get && IsVisible(get) ? "get; " : "";
        if (p.SetMethod is { } set && IsVisible(set))
        {
            var isInit = set.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));
            text += isInit ? "init; " : "set; ";
        }
        return text;
    }

    private static string GenericArguments(MethodInfo m) =>
        m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "";

    private static string Parameters(MethodBase method) => string.Join(", ", method.GetParameters().Select(p =>
    {
        var type = p.ParameterType;
        var prefix = type.IsByRef ? p.IsIn ? "in " : p.IsOut ? "out " : "ref " : "";
        var text = $"{prefix}{TypeName(type.IsByRef ? type.GetElementType()! : type)} {p.Name}";
        return p.HasDefaultValue ? $"{text} = {p.DefaultValue ?? "default"}" : text;
    }));

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(int)] = "int", [typeof(uint)] = "uint",
        [typeof(long)] = "long", [typeof(ulong)] = "ulong", [typeof(double)] = "double", [typeof(string)] = "string", [typeof(object)] = "object",
    };

    // Short names (no namespace) keep lines readable; nullable reference annotations are not shown.
    private static string TypeName(Type type, bool full = false)
    {
        if (Keywords.TryGetValue(type, out var keyword)) return keyword;
        if (type.IsGenericParameter) return type.Name;
        if (type.IsArray) return TypeName(type.GetElementType()!) + "[]";
        if (Nullable.GetUnderlyingType(type) is { } underlying) return TypeName(underlying) + "?";
        var name = full && type.DeclaringType is null ? type.FullName ?? type.Name : type.Name;
        if (type.DeclaringType is { } outer && !type.IsGenericParameter) name = TypeName(outer, full) + "." + StripArity(type.Name);
        name = StripArity(name);
        if (!type.IsGenericType) return name;
        var own = type.GetGenericArguments().Skip(type.DeclaringType?.GetGenericArguments().Length ?? 0).ToArray();
        return own.Length == 0 ? name : $"{name}<{string.Join(", ", own.Select(a => TypeName(a)))}>";
    }

    private static string StripArity(string name) => name.IndexOf('`', StringComparison.Ordinal) is var i and >= 0 ? name[..i] : name;
}
