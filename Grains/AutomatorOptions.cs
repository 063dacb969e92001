namespace Automator;

/// <summary>Settings under the <c>Automator</c> configuration section.</summary>
public sealed class AutomatorOptions
{
    public const string Section = "Automator";

    /// <summary>Base URL used for links in emails (unsubscribe, tracking).</summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:5000";
}
