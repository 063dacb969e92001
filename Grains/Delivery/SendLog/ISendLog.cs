using System.Security.Cryptography;
using System.Text;
using Automator.Delivery.Rendering;

namespace Automator.Delivery.SendLog;

/// <summary>A row of the send log (<c>email_sends</c>).</summary>
public sealed record SendRecord
{
    public Guid Id { get; init; }
    public Guid OrganizationId { get; init; }
    public string SendKey { get; init; } = "";
    public Guid? ContactId { get; init; }
    public Guid? WorkflowId { get; init; }
    public string? JourneyId { get; init; }
    public string? StepId { get; init; }
    public string? Variant { get; init; }
    public Guid? TemplateId { get; init; }
    public string Email { get; init; } = "";
    public string Subject { get; init; } = "";
    public string? Provider { get; init; }
    public string? ProviderMessageId { get; init; }
    public SendStatus Status { get; init; }
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public DateTimeOffset? DeliveredAt { get; init; }
    public DateTimeOffset? OpenedAt { get; init; }
    public DateTimeOffset? ClickedAt { get; init; }
    public DateTimeOffset? BouncedAt { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>What came back for the send (opens, clicks, bounces, ...), filled by the listing.</summary>
    public SendEngagement? Engagement { get; init; }

    // What rendering needs besides the row, kept so that another silo can render the send again if its silo dies.
    public string? EventJson { get; init; }
    public string? SubjectOverride { get; init; }
    public bool Transactional { get; init; }
}

/// <summary>
/// Engagement recorded on a send: human opens and clicks in total (a click counts as an open when the pixel was not
/// loaded), distinct URLs clicked, scanner and prefetcher traffic apart, and the bounce, complaint and unsubscribe.
/// </summary>
public sealed record SendEngagement(
    int Opens, int Clicks, int UniqueClicks, int MachineOpens, int MachineClicks, string? BounceType, DateTimeOffset? ComplainedAt, DateTimeOffset? UnsubscribedAt);

/// <summary>Identifies a send log row including its partition key.</summary>
public readonly record struct SendRef(Guid Id, DateTimeOffset CreatedAt);

/// <summary>A provider's answer to record: the new status and what the provider said.</summary>
public sealed record SendOutcomeRecord(SendRef Send, SendStatus Status, string? Provider, string? ProviderMessageId, string? Error, DateTimeOffset At);

/// <summary>A silo holding sends that are not settled yet (queued or sending), and its least recently touched one.</summary>
public sealed record SendOwner(string Owner, DateTimeOffset OldestUpdate);

public sealed record SendQuery(Guid? ContactId = null, Guid? WorkflowId = null, SendStatus? Status = null, int Limit = 50, string? Cursor = null);

public sealed record SendPage(IReadOnlyList<SendRecord> Items, string? NextCursor);

/// <summary>The organization, contact, template and suppression facts a send needs, read together.</summary>
public sealed record DeliveryFacts(
    string OrganizationName,
    string? PostalAddress,
    AmbiguousPolicy AmbiguousPolicy,
    ContactFacts? Contact,
    TemplateContent? Template,
    string? SuppressedBecause);

public sealed record ContactFacts(Guid Id, string Email, string? FirstName, string? LastName, string Status, string? PropertiesJson);

/// <summary>What the front door asks about one new send: its key and whom, what and for which organization.</summary>
public sealed record SendLookupRequest(string SendKey, Guid OrganizationId, Guid ContactId, string Email, Guid TemplateId);

/// <summary>The row already holding the send key (a duplicate), else null; and the facts to decide and render the send.</summary>
public sealed record SendLookup(SendRecord? Existing, DeliveryFacts Facts);

/// <summary>The send log and the reads the delivery path needs (PostgreSQL, or in memory without a database).</summary>
public interface ISendLog
{
    Task<SendRecord?> FindByKeyAsync(string sendKey);

    /// <summary>For each request, in order: the row already holding its send key, and the facts the send needs.</summary>
    Task<IReadOnlyList<SendLookup>> LookupAsync(IReadOnlyList<SendLookupRequest> requests);

    /// <summary>Inserts the row and claims its send key atomically; when the key exists, returns the existing row and false.</summary>
    Task<(SendRecord Record, bool Created)> CreateAsync(SendRecord record);

    /// <summary>
    /// <see cref="CreateAsync"/> for many rows at once, answers in order. Send keys must be distinct within one call.
    /// </summary>
    Task<IReadOnlyList<(SendRecord Record, bool Created)>> CreateManyAsync(IReadOnlyList<SendRecord> records);

    /// <summary>Moves queued sends to <c>sending</c> before the provider is called; returns the ones that moved (the others must not be sent).</summary>
    Task<IReadOnlySet<Guid>> MarkSendingAsync(IReadOnlyList<SendRef> sends, string provider);

    Task RecordOutcomesAsync(IReadOnlyList<SendOutcomeRecord> outcomes);

    Task<SendPage> ListAsync(Guid organizationId, SendQuery query);

    /// <summary>Sends of an organization in a status.</summary>
    Task<long> CountAsync(Guid organizationId, SendStatus status);

    /// <summary>
    /// Settles sends left <c>sending</c> longer than <paramref name="olderThan"/> (their silo stopped mid-call): the provider
    /// may have accepted them, so they become <c>unknown</c> and are never resent. Returns how many.
    /// </summary>
    Task<int> SettleInterruptedAsync(TimeSpan olderThan);

    /// <summary>The silos that hold queued or sending rows.</summary>
    Task<IReadOnlyList<SendOwner>> ListOwnersAsync();

    /// <summary>
    /// Settles the <c>sending</c> rows of a silo that died: the provider may have accepted them, so they become
    /// <c>unknown</c> and are never resent. Returns how many.
    /// </summary>
    Task<int> SettleSendingOfAsync(string deadOwner);

    /// <summary>
    /// Moves up to <paramref name="limit"/> <c>queued</c> rows of a silo that died to this silo, in one statement, so that
    /// each row is taken over by exactly one live silo; returns them, with what rendering needs, for sending.
    /// </summary>
    Task<IReadOnlyList<SendRecord>> TakeOverQueuedAsync(string deadOwner, int limit);

    /// <summary>
    /// Moves up to <paramref name="limit"/> of an organization's <c>queued</c> rows (ids after <paramref name="after"/>, in
    /// id order) to this silo, whoever held them, and returns them with what rendering needs: the sends its paused sending
    /// held back, released on resume.
    /// </summary>
    Task<IReadOnlyList<SendRecord>> TakeHeldAsync(Guid organizationId, Guid? after, int limit);
}

public static class SendStatusNames
{
    public static string ToDb(this SendStatus status) => status.ToString().ToLowerInvariant();

    public static SendStatus FromDb(string value) => Enum.Parse<SendStatus>(value, ignoreCase: true);

    public static bool TryParse(string? value, out SendStatus status) => Enum.TryParse(value, ignoreCase: true, out status) && Enum.IsDefined(status);
}

/// <summary>
/// The plain SHA-256 suppressions were keyed by before keyed hashes (<see cref="Automator.Contacts.SuppressionHasher"/>);
/// still matched by look-ups until such rows are re-keyed. And the contact statuses that stop a send.
/// </summary>
public static class SuppressionHash
{
    public static byte[] Of(string email) => Automator.Contacts.SuppressionHasher.Legacy(email);

    /// <summary>Contact statuses that stop any send.</summary>
    public static readonly IReadOnlySet<string> BlockingStatuses = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "unsubscribed", "bounced", "hard_bounced", "complained", "erased",
    };
}

/// <summary>Opaque list cursor: the last row's creation time and id.</summary>
public static class SendCursor
{
    public static string Encode(SendRecord last) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{last.CreatedAt.UtcTicks}:{last.Id:N}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryDecode(string? cursor, out DateTimeOffset createdAt, out Guid id)
    {
        createdAt = default;
        id = default;
        if (string.IsNullOrWhiteSpace(cursor))
        {
            return false;
        }

        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded = padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '=');
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(padded)).Split(':');
            if (parts.Length != 2 || !long.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var ticks) || !Guid.TryParse(parts[1], out id))
            {
                return false;
            }

            createdAt = new DateTimeOffset(ticks, TimeSpan.Zero);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
