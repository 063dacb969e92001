using System.Diagnostics;
using Automator.Infrastructure.Protection;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>contact-cipher</c>: CPU cost of the contact field cipher on one thread, per value: a name encrypted and
/// decrypted, and a properties object with one sensitive property among five. Option: <c>--count N</c> (default 200,000).
/// </summary>
public static class CipherBench
{
    public static Task RunAsync(string[] args)
    {
        var index = Array.IndexOf(args, "--count");
        var count = index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], out var n) ? n : 200_000;
        var options = new EncryptionOptions { ActiveKey = "bench", SensitiveProperties = ["phone"] };
        options.Keys["bench"] = BenchKeys.ContactFields;
        var cipher = new ContactFieldCipher(options);
        const string properties = """{"plan":"pro","seats":3,"phone":"+1 555 0100","country":"FR","signedUpAt":"2026-03-02"}""";
        var name = cipher.Protect("Bench")!;
        var stored = cipher.ProtectProperties(properties)!;

        Report("name: encrypt", count, () => cipher.Protect("Bench"));
        Report("name: decrypt", count, () => cipher.Reveal(name));
        Report("properties (1 sensitive of 5): encrypt", count, () => cipher.ProtectProperties(properties));
        Report("properties (1 sensitive of 5): decrypt", count, () => cipher.RevealProperties(stored));
        Report("properties without a sensitive key: pass through", count, () => cipher.ProtectProperties("""{"plan":"pro","seats":3}"""));
        return Task.CompletedTask;
    }

    private static void Report(string what, int count, Func<string?> work)
    {
        for (var i = 0; i < 10_000; i++)
        {
            work();
        }

        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            work();
        }

        Console.WriteLine($"| contact field cipher, {what}: µs per value (1 thread) | {stopwatch.Elapsed.TotalMicroseconds / count:N2} |");
    }
}
