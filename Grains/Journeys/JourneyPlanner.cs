using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Automator.Workflows;

namespace Automator.Journeys;

/// <summary>
/// Decides a journey's next state and actions from its definition, its state, a stimulus and the time. Pure: no I/O,
/// no clock of its own. Waits are computed from the time they were due (not from when the grain happened to wake),
/// so a late wake catches up every overdue step exactly as if it had run on time.
/// </summary>
public sealed class JourneyPlanner
{
    public const int HistoryLimit = 50;
    public const int EventsSeenLimit = 100;
    private const int MaxStepsPerTurn = 500;

    /// <summary>A journey held by a paused workflow re-checks at least this often (resume also wakes it at once).</summary>
    public static readonly TimeSpan PausedRecheck = TimeSpan.FromHours(1);

    public static readonly IReadOnlyList<string> EngagementKinds = ["delivered", "opened", "clicked", "bounced", "complained", "unsubscribed", "failed"];

    public JourneyPlan Plan(WorkflowDefinition definition, JourneyState state, JourneyStimulus stimulus, JourneyContext context, DateTimeOffset now)
    {
        var turn = new Turn(definition, state, context, now);
        switch (stimulus)
        {
            case JourneyStimulus.Enter enter:
                turn.Enter(enter);
                break;
            case JourneyStimulus.Wake:
                turn.CatchUp();
                break;
            case JourneyStimulus.Event e:
                turn.CatchUp();
                turn.OnEvent(e);
                break;
            case JourneyStimulus.End end:
                turn.EndNow(end.Reason);
                break;
            case JourneyStimulus.Resume:
                turn.Resume();
                break;
        }

        var plan = turn.Plan;
        plan.WakeAt = state.Status is JourneyStatus.Waiting or JourneyStatus.Scheduled ? state.DueAt : null;
        plan.Ended = state.Status is JourneyStatus.Completed or JourneyStatus.Exited && plan.Changed;
        return plan;
    }

    public static string SendKey(string journeyId, string stepId, int entry) => $"{journeyId}:{stepId}:{entry}";

    /// <summary>
    /// Delivery answered a send synchronously with a final outcome (<c>failed</c>, <c>suppressed</c>): record it on the send
    /// and count it. The journey does not move; branches on engagement see it.
    /// </summary>
    public JourneyPlan RecordSendOutcome(JourneyState state, string sendKey, string outcome, DateTimeOffset now)
    {
        var plan = new JourneyPlan();
        var match = state.Sends.FirstOrDefault(s => s.Value.SendKey == sendKey);
        if (match.Value is not { } send || send.Engagements.Contains(outcome))
        {
            return plan;
        }

        send.Engagements.Add(outcome);
        plan.Counters.Add(new CounterDelta(outcome, match.Key, null, 1));
        if (send.Variant is not null)
        {
            plan.Counters.Add(new CounterDelta(outcome, null, $"{match.Key}/{send.Variant}", 1));
        }

        var entry = new JourneyHistoryEntry { At = now, Kind = outcome, StepId = match.Key, Detail = sendKey, Entry = state.Entry, Version = state.Version };
        plan.History.Add(entry);
        state.History.Add(entry);
        if (state.History.Count > HistoryLimit)
        {
            state.History.RemoveRange(0, state.History.Count - HistoryLimit);
        }

        plan.Changed = true;
        return plan;
    }

    private sealed class Turn(WorkflowDefinition definition, JourneyState state, JourneyContext context, DateTimeOffset now)
    {
        public JourneyPlan Plan { get; } = new();

        private TimeZoneInfo Zone { get; } = LocalTimes.Zone(context.ContactTimeZone, definition.Settings.TimeZone);

        public void Enter(JourneyStimulus.Enter enter)
        {
            if (context.WorkflowStatus != "active")
            {
                Plan.Rejected = $"the workflow is {context.WorkflowStatus}";
                return;
            }

            if (state.IsInJourney)
            {
                Plan.Rejected = "the contact is already in this workflow";
                return;
            }

            ReentryRule.TryParse(definition.Settings.Reentry, out var rule);
            if (!rule.Allows(state.Entry > 0 ? state.EnteredAt : null, now))
            {
                Plan.Rejected = "re-entry is not allowed yet";
                return;
            }

            if (enter.At is { } at && at > now)
            {
                state.Status = JourneyStatus.Scheduled;
                state.Wait = WaitKind.Entry;
                state.DueAt = at;
                state.ScheduledVersion = enter.Version;
                state.TriggerEventJson = enter.EventJson;
                Record("scheduled", null, at.ToString("O", CultureInfo.InvariantCulture));
                return;
            }

            Start(enter.Version, enter.EventJson, now);
            Advance(now);
        }

        public void CatchUp()
        {
            if (state.IsInJourney && context.WorkflowStatus == "archived")
            {
                Exit("archived");
                return;
            }

            if (state.Status == JourneyStatus.Scheduled && state.DueAt is { } entryAt && entryAt <= now)
            {
                if (context.WorkflowStatus != "active")
                {
                    state.Status = state.Entry > 0 ? JourneyStatus.Completed : JourneyStatus.None;
                    state.Wait = WaitKind.None;
                    state.DueAt = null;
                    Record("unscheduled", null, $"workflow {context.WorkflowStatus}");
                    return;
                }

                Start(state.ScheduledVersion, state.TriggerEventJson, entryAt);
                Advance(entryAt);
                return;
            }

            if (state.Status == JourneyStatus.Waiting && state.DueAt is { } due && due <= now)
            {
                ResumeFromWait(due);
            }
        }

        public void OnEvent(JourneyStimulus.Event e)
        {
            if (!state.IsInJourney)
            {
                return;
            }

            var properties = Parse(e.PropertiesJson);
            if (state.EventsSeen.Count >= EventsSeenLimit)
            {
                state.EventsSeen.RemoveAt(0);
            }

            state.EventsSeen.Add(e.Name);
            Plan.Changed = true;

            if (e.Name.StartsWith("email.", StringComparison.Ordinal))
            {
                RecordEngagement(e.Name["email.".Length..], properties);
            }

            if (definition.Settings.GoalEvent is { } goal && goal == e.Name && !state.GoalReached)
            {
                state.GoalReached = true;
                Count("goals");
                Count("goals", state.StepId);
                foreach (var variant in state.Variants)
                {
                    Count("goals", null, variant);
                }

                Record("goal", state.StepId, e.Name);
            }

            if (definition.Settings.ExitEvents.Contains(e.Name, StringComparer.Ordinal))
            {
                Exit($"event:{e.Name}");
                return;
            }

            if (state is { Status: JourneyStatus.Waiting, Wait: WaitKind.Event } && definition.Find(state.StepId) is { } step &&
                step.Event == e.Name && Conditions.MatchesFilter(step.Filter, properties))
            {
                LeaveWait(step);
                Record("event", step.Id, e.Name);
                Move(step, step.Next);
                Advance(now);
            }
        }

        public void Resume()
        {
            if (state is { Status: JourneyStatus.Waiting, Wait: WaitKind.Paused } && context.WorkflowStatus == "active")
            {
                ResumeFromWait(now);
                return;
            }

            CatchUp();
        }

        public void EndNow(string reason)
        {
            if (state.IsInJourney)
            {
                Exit(reason);
            }
            else if (state.Status == JourneyStatus.Scheduled)
            {
                state.Status = state.Entry > 0 ? JourneyStatus.Completed : JourneyStatus.None;
                state.Wait = WaitKind.None;
                state.DueAt = null;
                Record("unscheduled", null, reason);
            }
        }

        private void Start(int version, string? eventJson, DateTimeOffset at)
        {
            state.Version = version;
            state.Entry++;
            state.Status = JourneyStatus.Active;
            state.StepId = definition.Start;
            state.Wait = WaitKind.None;
            state.DueAt = null;
            state.EnteredAt = at;
            state.EndedAt = null;
            state.EndReason = null;
            state.GoalReached = false;
            state.TriggerEventJson = eventJson;
            state.Sends.Clear();
            state.EventsSeen.Clear();
            state.Variants.Clear();
            Count("entered");
            Count("active");
            Count("entered", state.StepId);
            Record("enter", state.StepId, $"version {version}");
        }

        private void ResumeFromWait(DateTimeOffset due)
        {
            var step = definition.Find(state.StepId);
            if (step is null)
            {
                Complete();
                return;
            }

            var wait = state.Wait;
            LeaveWait(step);
            switch (wait)
            {
                case WaitKind.Delay:
                case WaitKind.Until:
                    Move(step, step.Next);
                    Advance(due);
                    break;
                case WaitKind.Event:
                    Record("timeout", step.Id, step.Event);
                    if (step.OnTimeout is null)
                    {
                        Move(step, null);
                    }
                    else
                    {
                        Move(step, step.OnTimeout);
                        Advance(due);
                    }

                    break;
                default:
                    // Held sends (window, cap, pause) run their step again, which re-checks what held them.
                    Advance(due);
                    break;
            }
        }

        private void Advance(DateTimeOffset t)
        {
            for (var i = 0; i < MaxStepsPerTurn && state.Status == JourneyStatus.Active; i++)
            {
                var step = definition.Find(state.StepId);
                if (step is null)
                {
                    Complete();
                    return;
                }

                switch (step.Type)
                {
                    case StepTypes.Send:
                        if (!TrySend(step))
                        {
                            return;
                        }

                        Move(step, step.Next);
                        break;
                    case StepTypes.Delay:
                        var delayDue = t + Durations.Parse(step.Duration);
                        if (delayDue > now)
                        {
                            StartWait(step, WaitKind.Delay, delayDue);
                            return;
                        }

                        t = delayDue;
                        Move(step, step.Next);
                        break;
                    case StepTypes.WaitUntil:
                        var untilDue = UntilTime(step, t);
                        if (untilDue is { } u && u > now)
                        {
                            StartWait(step, WaitKind.Until, u);
                            return;
                        }

                        if (untilDue is { } passed && passed > t)
                        {
                            t = passed;
                        }

                        Move(step, step.Next);
                        break;
                    case StepTypes.WaitForEvent:
                        DateTimeOffset? timeout = step.Timeout is null ? null : t + Durations.Parse(step.Timeout);
                        if (timeout is { } expired && expired <= now)
                        {
                            Record("timeout", step.Id, step.Event);
                            Move(step, step.OnTimeout);
                            t = expired;
                            break;
                        }

                        StartWait(step, WaitKind.Event, timeout);
                        return;
                    case StepTypes.Branch:
                        Move(step, ChooseBranch(step));
                        break;
                    case StepTypes.Split:
                        var branches = step.Branches ?? [];
                        var index = Winner(step, branches.Select(b => b.Id).ToList()) ?? WeightedChoice.Choose(state.ContactId, step.Id!, branches.Select(b => b.Weight).ToList());
                        var branch = branches.Count > 0 ? branches[index] : null;
                        var variant = $"{step.Id}/{branch?.Id ?? index.ToString(CultureInfo.InvariantCulture)}";
                        state.Variants.Add(variant);
                        Count("entered", null, variant);
                        Record("split", step.Id, variant);
                        Move(step, branch?.Next);
                        break;
                    case StepTypes.UpdateContact:
                        var set = step.Set?.GetRawText() ?? "{}";
                        Plan.Actions.Add(new JourneyAction.UpdateContact(step.Id!, set));
                        context.ContactProperties = Merge(context.ContactProperties, step.Set);
                        Record("update", step.Id, set);
                        Move(step, step.Next);
                        break;
                    case StepTypes.Webhook:
                        Plan.Actions.Add(new JourneyAction.Webhook(step.Id!, step.Url!, (step.Method ?? "POST").ToUpperInvariant(), step.Body?.GetRawText()));
                        Record("webhook", step.Id, step.Url);
                        Move(step, step.Next);
                        break;
                    case StepTypes.Exit:
                        Count("passed", step.Id);
                        Exit("exitStep");
                        return;
                    default:
                        Exit($"unknown step type {step.Type}");
                        return;
                }
            }

            if (state.Status == JourneyStatus.Active && definition.Find(state.StepId) is { } current)
            {
                // Too many steps in one turn (a long overdue loop): yield and continue on the next wake.
                StartWait(current, WaitKind.Continue, t);
            }
        }

        /// <returns>False when the send is held (window, cap or pause) and the journey now waits.</returns>
        private bool TrySend(WorkflowStep step)
        {
            if (context.WorkflowStatus == "paused")
            {
                StartWait(step, WaitKind.Paused, now + PausedRecheck);
                Plan.Held = true;
                return false;
            }

            if (definition.Settings.SendWindow is { } windowSettings && !step.Transactional)
            {
                var window = new SendWindow(windowSettings);
                var open = window.NextOpen(now, Zone);
                if (open > now)
                {
                    StartWait(step, WaitKind.Window, open);
                    return false;
                }
            }

            if (definition.Settings.FrequencyCap is { Max: > 0 } cap && Durations.TryParse(cap.Per, out var per) && !step.Transactional)
            {
                var recent = context.RecentSends.Where(s => s > now - per).Order().ToList();
                if (recent.Count >= cap.Max)
                {
                    StartWait(step, WaitKind.Cap, recent[recent.Count - cap.Max] + per);
                    return false;
                }
            }

            string? variantId = null;
            var templateId = step.TemplateId;
            var subject = step.Subject;
            if (step.Variants is { Count: > 0 } variants)
            {
                var chosen = variants[Winner(step, variants.Select(v => v.Id).ToList()) ?? WeightedChoice.Choose(state.ContactId, step.Id!, variants.Select(v => v.Weight).ToList())];
                variantId = chosen.Id;
                templateId = chosen.TemplateId ?? templateId;
                subject = chosen.Subject ?? subject;
                var variantKey = $"{step.Id}/{variantId}";
                state.Variants.Add(variantKey);
                Count("entered", null, variantKey);
                Count("sent", null, variantKey);
            }

            var sendKey = SendKey(context.JourneyId, step.Id!, state.Entry);
            state.Sends[step.Id!] = new JourneySend { SendKey = sendKey, SentAt = now, Variant = variantId };
            context.RecentSends.Add(now);
            Plan.Actions.Add(new JourneyAction.Send(new PendingSend
            {
                SendKey = sendKey,
                StepId = step.Id!,
                TemplateId = templateId,
                Variant = variantId,
                Subject = subject,
                Transactional = step.Transactional,
            }));
            Count("sent", step.Id);
            Record("send", step.Id, sendKey);
            return true;
        }

        /// <summary>The index of the declared winner among a step's variants or branches, if its test has decided.</summary>
        private int? Winner(WorkflowStep step, List<string?> arms)
        {
            if (step.AutoWinner is null || context.Winners?.GetValueOrDefault(step.Id!) is not { } winner)
            {
                return null;
            }

            var index = arms.IndexOf(winner);
            return index < 0 ? null : index;
        }

        private bool NextSendIsTransactional(WorkflowStep step) => definition.Find(step.Next) is { Type: StepTypes.Send, Transactional: true };

        private DateTimeOffset? UntilTime(WorkflowStep step, DateTimeOffset t)
        {
            if (step.At is not null)
            {
                return DateTimeOffset.Parse(step.At, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUniversalTime();
            }

            if (step.OptimalTime)
            {
                var window = definition.Settings.SendWindow is { } windowSettings && !NextSendIsTransactional(step) ? new SendWindow(windowSettings) : null;
                var organizationZone = LocalTimes.Zone(null, definition.Settings.TimeZone);
                var choice = SendTimeOptimizer.Choose(t, SendTimeOptimizer.Within(step), context.Opens ?? OpenHours.None, Zone, organizationZone, window);
                var hour = choice.Hour is { } h ? $" {h:00}:00" : "";
                Record("optimalTime", step.Id, $"{choice.Source.ToString().ToLowerInvariant()}{hour}{(choice.Capped ? " (within)" : "")}");
                return choice.At;
            }

            if (step.TimeOfDay is not null && Durations.TryParseTimeOfDay(step.TimeOfDay, out var time))
            {
                return LocalTimes.NextTimeOfDay(t, time, Zone);
            }

            if (step.Property is not null)
            {
                var value = Conditions.Lookup(context.ContactProperties, step.Property);
                var text = value is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;
                var at = LocalTimes.ParseDateProperty(text, Zone);
                return at is { } a && Durations.TryParse(step.Offset ?? "PT0S", out var offset) ? a + offset : null;
            }

            return null;
        }

        private string? ChooseBranch(WorkflowStep step)
        {
            var scope = new ConditionScope
            {
                ContactProperties = context.ContactProperties,
                EventProperties = Parse(state.TriggerEventJson),
                Engaged = (stepId, kind) => state.Sends.TryGetValue(stepId, out var send) && (kind == "sent" || send.Engagements.Contains(kind)),
                EventSeen = name => state.EventsSeen.Contains(name),
            };
            foreach (var condition in step.Conditions ?? [])
            {
                if (condition.When is { } when && Conditions.Evaluate(when, scope))
                {
                    return condition.Next;
                }
            }

            return step.Else;
        }

        private void RecordEngagement(string kind, JsonElement? properties)
        {
            if (!EngagementKinds.Contains(kind) || state.Sends.Count == 0)
            {
                return;
            }

            JourneySend? send = null;
            string? stepId = null;
            if (Conditions.Lookup(properties, "sendKey") is { ValueKind: JsonValueKind.String } key)
            {
                var match = state.Sends.FirstOrDefault(s => s.Value.SendKey == key.GetString());
                (stepId, send) = (match.Key, match.Value);
            }
            else if (Conditions.Lookup(properties, "stepId") is { ValueKind: JsonValueKind.String } step && state.Sends.TryGetValue(step.GetString()!, out var byStep))
            {
                (stepId, send) = (step.GetString(), byStep);
            }
            else
            {
                var latest = state.Sends.MaxBy(s => s.Value.SentAt);
                (stepId, send) = (latest.Key, latest.Value);
            }

            if (send is null || stepId is null)
            {
                return;
            }

            // Engagement recorded from tracking and provider webhooks is counted on its step from the send log, which
            // also sees sends whose journey has ended; the journey only marks it for its branches.
            var countedOnStep = Conditions.Lookup(properties, "countedOnStep") is { ValueKind: JsonValueKind.True };

            void Mark(string k)
            {
                if (send.Engagements.Contains(k))
                {
                    return;
                }

                // A split branch is judged by whether its contacts engaged at all after it: once per entry and kind.
                var firstOfKind = !state.Sends.Values.Any(s => s.Engagements.Contains(k));
                send.Engagements.Add(k);
                if (firstOfKind)
                {
                    foreach (var splitVariant in state.Variants.Where(v => definition.Find(v[..v.IndexOf('/')]) is { Type: StepTypes.Split }))
                    {
                        Count(k, null, splitVariant);
                    }
                }

                if (!countedOnStep)
                {
                    Count(k, stepId);
                    if (send.Variant is not null)
                    {
                        Count(k, null, $"{stepId}/{send.Variant}");
                    }
                }

                Record(k, stepId, send.SendKey);
            }

            if (kind == "clicked")
            {
                Mark("opened");
            }

            Mark(kind);
        }

        private void StartWait(WorkflowStep step, WaitKind kind, DateTimeOffset? due)
        {
            state.Status = JourneyStatus.Waiting;
            state.Wait = kind;
            state.DueAt = due;
            Count("waiting", step.Id);
            Record("wait", step.Id, due is { } d ? $"{kind.ToString().ToLowerInvariant()} until {d.ToString("O", CultureInfo.InvariantCulture)}" : kind.ToString().ToLowerInvariant());
        }

        private void LeaveWait(WorkflowStep step)
        {
            if (state.Status == JourneyStatus.Waiting)
            {
                Count("waiting", step.Id, null, -1);
            }

            state.Status = JourneyStatus.Active;
            state.Wait = WaitKind.None;
            state.DueAt = null;
        }

        private void Move(WorkflowStep from, string? to)
        {
            Count("passed", from.Id);
            Record("step", from.Id, to);
            state.StepId = to;
            state.Status = JourneyStatus.Active;
            if (to is null)
            {
                Complete();
                return;
            }

            Count("entered", to);
        }

        private void Complete()
        {
            state.Status = JourneyStatus.Completed;
            state.Wait = WaitKind.None;
            state.DueAt = null;
            state.EndedAt = now;
            state.EndReason = "completed";
            Count("completed");
            Count("active", null, null, -1);
            Record("complete", null, null);
        }

        private void Exit(string reason)
        {
            if (state.Status == JourneyStatus.Waiting && definition.Find(state.StepId) is { } step)
            {
                Count("waiting", step.Id, null, -1);
            }

            state.Status = JourneyStatus.Exited;
            state.Wait = WaitKind.None;
            state.DueAt = null;
            state.EndedAt = now;
            state.EndReason = reason;
            Count("exited");
            Count("exited", state.StepId);
            Count("active", null, null, -1);
            Record("exit", state.StepId, reason);
        }

        private void Count(string name, string? stepId = null, string? variant = null, long delta = 1) =>
            Plan.Counters.Add(new CounterDelta(name, stepId, variant, delta));

        private void Record(string kind, string? stepId, string? detail)
        {
            var entry = new JourneyHistoryEntry { At = now, Kind = kind, StepId = stepId, Detail = detail, Entry = state.Entry, Version = state.Version };
            Plan.History.Add(entry);
            state.History.Add(entry);
            if (state.History.Count > HistoryLimit)
            {
                state.History.RemoveRange(0, state.History.Count - HistoryLimit);
            }

            Plan.Changed = true;
        }
    }

    private static JsonElement? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonElement? Merge(JsonElement? properties, JsonElement? set)
    {
        if (set is not { ValueKind: JsonValueKind.Object } s)
        {
            return properties;
        }

        var target = properties is { ValueKind: JsonValueKind.Object } p ? JsonNode.Parse(p.GetRawText())!.AsObject() : new JsonObject();
        foreach (var pair in s.EnumerateObject())
        {
            target[pair.Name] = JsonNode.Parse(pair.Value.GetRawText());
        }

        return JsonSerializer.SerializeToElement(target);
    }
}
