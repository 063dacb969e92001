using System.Security.Cryptography;
using System.Text;

namespace Automator.Contacts;

/// <summary>
/// The key of the suppression list: SHA-256 of the trimmed, lower-cased address. An erased contact's address is
/// kept only in this form, so the send path can still refuse it.
/// </summary>
public static class EmailHash
{
    public static byte[] Of(string email) => SHA256.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant()));
}
