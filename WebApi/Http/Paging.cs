using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Http;

/// <summary>One page of a list: <c>{ items, nextCursor }</c>.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Keyset paging over ids (UUIDv7, so time-ordered): the cursor is the last id seen, opaque to clients.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static int Limit(Validator validator, int? limit)
    {
        if (limit is null)
        {
            return DefaultLimit;
        }

        if (limit < 1 || limit > MaxLimit)
        {
            validator.Add("limit", $"must be between 1 and {MaxLimit}.");
            return DefaultLimit;
        }

        return limit.Value;
    }

    /// <summary>Reads <c>limit</c> and <c>cursor</c>; false with the problem naming the bad one.</summary>
    public static bool TryRead(int? limit, string? cursor, out int take, out Guid? after, [NotNullWhen(false)] out ValidationProblem? invalid)
    {
        var validator = new Validator();
        take = Limit(validator, limit);
        after = After(validator, cursor);
        invalid = validator.IsValid ? null : ApiResults.Invalid(validator);
        return invalid is null;
    }

    public static Guid? After(Validator validator, string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (cursor.Length != 22 || Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 16)
        {
            validator.Add("cursor", "is not a cursor returned by this list.");
            return null;
        }

        return new Guid(bytes, bigEndian: true);
    }

    public static string Encode(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>Builds the page from up to <paramref name="limit"/> + 1 rows read.</summary>
    public static Page<T> ToPage<T>(List<T> rows, int limit, Func<T, Guid> id) =>
        rows.Count > limit
            ? new Page<T>(rows.GetRange(0, limit), Encode(id(rows[limit - 1])))
            : new Page<T>(rows, null);
}
