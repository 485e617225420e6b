namespace RaftKv.Cli.Bench;

/// <summary>Parses <c>--endpoints</c>: comma-separated <c>host:port</c> or URLs, as etcdctl accepts them.</summary>
public static class EndpointList
{
    /// <summary>The endpoints as http(s) URIs; false (and a reason) when one of them is not an address.</summary>
    public static bool TryParse(string text, out IReadOnlyList<Uri> endpoints, out string error)
    {
        var list = new List<Uri>();
        endpoints = list;
        error = "";
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // etcdctl takes bare host:port; gRPC needs a scheme (plain h2c unless https is asked for).
            var withScheme = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                error = $"endpoint '{part}' is not host:port or http(s)://host:port";
                return false;
            }
            list.Add(new Uri(uri.GetLeftPart(UriPartial.Authority)));
        }
        if (list.Count == 0)
        {
            error = "--endpoints is empty";
            return false;
        }
        return true;
    }
}
