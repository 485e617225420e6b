namespace RaftKv.Cli.Wal;

/// <summary>
/// Where <see cref="EntryDescriber"/> writes one entry's fields: a JSON object (<see cref="JsonDumpSink"/>) or one
/// line of text (<see cref="TextDumpSink"/>). Fields come in the order described; arrays hold objects.
/// </summary>
internal interface IDumpSink
{
    /// <summary>Starts one record (an entry, or the log's header).</summary>
    void BeginRecord();

    /// <summary>Ends the record and writes it out.</summary>
    void EndRecord();

    /// <summary>A text field.</summary>
    void String(string name, string value);

    /// <summary>A signed number.</summary>
    void Number(string name, long value);

    /// <summary>An unsigned number (indexes, terms, ids).</summary>
    void Number(string name, ulong value);

    /// <summary>A flag.</summary>
    void Bool(string name, bool value);

    /// <summary>Starts an array of objects named <paramref name="name"/>.</summary>
    void BeginArray(string name);

    /// <summary>Ends the array begun last.</summary>
    void EndArray();

    /// <summary>Starts an object inside the current array.</summary>
    void BeginObject();

    /// <summary>Ends the object begun last.</summary>
    void EndObject();

    /// <summary>Writes everything buffered to the output.</summary>
    void Flush();
}
