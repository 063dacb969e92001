namespace Automator.Contacts;

/// <summary>
/// Plain SHA-256 of the trimmed, lower-cased address: how suppressions were keyed before keyed hashes. New rows use
/// <see cref="SuppressionHasher"/>; this form is only matched, for rows not yet re-keyed.
/// </summary>
public static class EmailHash
{
    public static byte[] Of(string email) => SuppressionHasher.Legacy(email);
}
