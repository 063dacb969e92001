namespace Automator.Testing;

/// <summary>Examples from the HTTP contract (api.md), shared by the test projects.</summary>
public static class ApiExamples
{
    /// <summary>The example workflow: every kind of step a welcome series uses.</summary>
    public const string WelcomeWorkflow = """
    {
      "name": "Welcome series",
      "trigger": { "type": "event", "event": "signed_up" },
      "settings": { "reentry": "never", "exitEvents": ["unsubscribed"], "goalEvent": "purchased",
                    "sendWindow": { "start": "09:00", "end": "18:00", "days": ["mon","tue","wed","thu","fri"] },
                    "frequencyCap": { "max": 3, "per": "P1D" }, "timeZone": "UTC" },
      "start": "welcome",
      "steps": [
        { "id": "welcome", "type": "send", "templateId": "tpl_1", "next": "wait" },
        { "id": "wait", "type": "delay", "duration": "P2D", "next": "opened?" },
        { "id": "opened?", "type": "branch", "conditions": [ { "when": { "opened": "welcome" }, "next": "buy" } ], "else": "nudge" },
        { "id": "nudge", "type": "send", "templateId": "tpl_2", "next": null },
        { "id": "buy", "type": "waitForEvent", "event": "purchased", "timeout": "P3D", "next": null, "onTimeout": "offer" },
        { "id": "offer", "type": "split", "branches": [ { "weight": 50, "next": "offerA" }, { "weight": 50, "next": "offerB" } ] },
        { "id": "offerA", "type": "send", "templateId": "tpl_3", "next": null },
        { "id": "offerB", "type": "send", "templateId": "tpl_4", "next": null }
      ]
    }
    """;
}
