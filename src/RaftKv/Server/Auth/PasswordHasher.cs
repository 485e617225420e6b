using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RaftKv.Server.Auth;

/// <summary>
/// Passwords as the auth record keeps them: PBKDF2 with SHA-256 and a random salt, written as
/// <c>pbkdf2-sha256$iterations$salt$hash</c> (base64). Hashing happens on the proposer, never in apply, so the log
/// holds no password and apply stays a pure function of it. (etcd uses bcrypt; .NET has PBKDF2 built in.)
/// </summary>
public static class PasswordHasher
{
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>Iterations for new hashes: about 10 ms on one core, near etcd's bcrypt cost 10.</summary>
    public const int Iterations = 20_000;

    // Bounds on a stored hash's iterations: a record is ours, but a check must not be made to spin.
    private const int IterationsMax = 1_000_000;

    /// <summary>The stored form of <paramref name="password"/>; empty for an empty password (a user who cannot authenticate).</summary>
    public static string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length == 0) return "";
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Scheme, Iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>Whether <paramref name="password"/> matches <paramref name="stored"/> (constant time in the hash); false for anything malformed.</summary>
    public static bool Verify(string password, string stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(stored);
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || password.Length == 0) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1 || iterations > IterationsMax) return false;
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        if (expected.Length != HashBytes) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
