using Automator.Live;
using System.Text.Json;
using Automator.Contacts;
using Automator.Delivery;
using Automator.Infrastructure.Storage;
using Automator.Infrastructure.Telemetry;
using Automator.Infrastructure.Time;
using Automator.Wakeups;
using Automator.Workflows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Automator.Journeys;

/// <summary>The services a journey grain uses, bundled to keep its constructor short.</summary>
public sealed class JourneyServices(
    ProductClock time,
    TriggerIndex triggers,
    WorkflowDefinitionCache definitions,
    CounterBuffer counters,
    IJourneyStore store,
    ISendStep sendStep,
    IJourneyWebhooks webhooks,
    ILiveEvents live,
    IWakeups wakeups,
    IOptions<JourneyOptions> options,
    ILogger<JourneyGrain> logger,
    IMeasurements measurements,
    IOpenHistory openHistory,
    WorkflowWinners winners)
{
    public ProductClock Time { get; } = time;
    public TriggerIndex Triggers { get; } = triggers;
    public WorkflowDefinitionCache Definitions { get; } = definitions;
    public CounterBuffer Counters { get; } = counters;
    public IJourneyStore Store { get; } = store;
    public ISendStep SendStep { get; } = sendStep;
    public IJourneyWebhooks Webhooks { get; } = webhooks;
    public ILiveEvents Live { get; } = live;
    public IWakeups Wakeups { get; } = wakeups;
    public JourneyOptions Options { get; } = options.Value;
    public ILogger<JourneyGrain> Logger { get; } = logger;
    public JourneyPlanner Planner { get; } = new();
    public IMeasurements Measurements { get; } = measurements;
    public IOpenHistory OpenHistory { get; } = openHistory;
    public WorkflowWinners Winners { get; } = winners;
}

/// <summary>
/// One contact's journey through one workflow. Loads its state, asks the <see cref="JourneyPlanner"/>, persists (one
/// write per turn, send intents included), then acts. The due time lives in state and is written with it into the wake
/// index (<see cref="IWakeups"/>), where a <see cref="WakeShardGrain"/> finds it and wakes the journey (the shards' reminders are the
/// durable backstop); a grain timer gives sub-minute precision while active, and the journey deactivates while it waits
/// longer than <see cref="JourneyOptions.TimerWindow"/>.
/// </summary>
/// <remarks>
/// Random placement: journeys are many small activations of nearly equal, I/O-bound cost, so an even spread beats
/// placing by load statistics, which can send a burst of new journeys all to one silo while another warms up.
/// </remarks>
[Orleans.Placement.RandomPlacement]
public sealed class JourneyGrain(
    [PersistentState("journey", BatchedGrainStorage.Name)] IPersistentState<JourneyState> state,
    JourneyServices services) : Grain, IJourneyGrain, IRemindable
{
    /// <summary>The per-journey reminder of earlier versions (see <see cref="JourneyState.ReminderDue"/>).</summary>
    private const string ReminderName = "wake";
    private Guid _organizationId;
    private Guid _workflowId;
    private Guid _contactId;
    private string _journeyId = "";
    private IGrainTimer? _timer;
    private DateTimeOffset? _timerDue;

    private DateTimeOffset Now => services.Time.GetUtcNow();

    private IContactGrain Contact => GrainFactory.GetGrain<IContactGrain>(ContactKey.Of(_organizationId, _contactId));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_organizationId, _workflowId, _contactId) = JourneyKey.Parse(this.GetPrimaryKeyString());
        _journeyId = JourneyKey.PublicId(_workflowId, _contactId);
        if (state.State.PendingSends.Count > 0)
        {
            // A previous activation persisted these intents but may have died before delivery acknowledged them (a
            // re-issue of an acknowledged one is dropped by its send key). Once all are acknowledged, say so in storage,
            // which also takes the retry time out of the wake index.
            await FlushSendsAsync();
            if (state.State.PendingSends.Count == 0)
            {
                state.State.PendingSendsRetryAt = null;
                await state.WriteStateAsync();
                services.Wakeups.Written(this.GetGrainId(), state.State.WakeAt);
            }
        }

        SetTimer(state.State.DueAt);
    }

    public async Task<JourneyOutcome> EnterAsync(JourneyEntry entry, ContactSnapshot contact) =>
        await TurnAsync(new JourneyStimulus.Enter(entry.Version, entry.EventJson, entry.At), contact, entry.Version);

    public async Task<JourneyOutcome> OnEventAsync(ContactEvent contactEvent, ContactSnapshot contact)
    {
        if (!state.State.IsInJourney)
        {
            return new JourneyOutcome { Active = state.State.Status == JourneyStatus.Scheduled, Entry = state.State.Entry };
        }

        return await TurnAsync(new JourneyStimulus.Event(contactEvent.Name, contactEvent.PropertiesJson, contactEvent.OccurredAt), contact, state.State.Version);
    }

    public async Task WakeAsync()
    {
        await RetryWebhooksAsync();
        var s = state.State;
        if (s.Status is not (JourneyStatus.Waiting or JourneyStatus.Scheduled))
        {
            await UnregisterReminderAsync();
            return;
        }

        if (s.DueAt is not { } due || due > Now)
        {
            SetTimer(s.DueAt);
            return;
        }

        var version = s.Status == JourneyStatus.Scheduled ? s.ScheduledVersion : s.Version;
        var contact = await Contact.GetSnapshotAsync();
        var outcome = await TurnAsync(new JourneyStimulus.Wake(), contact, version);
        await ReportAsync(outcome);
    }

    public async Task WebhookCompletedAsync(string deliveryId, bool succeeded)
    {
        var s = state.State;
        var pending = s.PendingWebhooks.Find(w => w.DeliveryId == deliveryId);
        if (pending is null || (!succeeded && pending.NextAttemptAt is not null))
        {
            // Unknown (already forgotten) or failed with a retry ahead: the persisted retry time brings it back.
            return;
        }

        s.PendingWebhooks.Remove(pending);
        if (!succeeded)
        {
            services.Logger.LogWarning("Webhook step {StepId} of {JourneyId} given up after {Attempts} attempts.", pending.StepId, _journeyId, pending.Attempts);
            services.Store.Record(Row(Now), [new JourneyEventRow(_organizationId, _workflowId, _contactId, _journeyId, s.Version, s.Entry,
                "webhook_failed", pending.StepId, $"{pending.Attempts} attempts", Now)]);
        }

        await WriteAsync();
    }

    /// <summary>Webhook calls whose retry time has come are attempted again, the next retry time written first.</summary>
    private async Task RetryWebhooksAsync()
    {
        var now = Now;
        var due = state.State.PendingWebhooks.Where(w => w.NextAttemptAt is { } next && next <= now).ToList();
        if (due.Count == 0)
        {
            return;
        }

        foreach (var webhook in due)
        {
            webhook.Attempts++;
            webhook.NextAttemptAt = WebhookRetry.After(webhook.Attempts, now, services.Options.WebhookRetryBase, services.Options.WebhookMaxAttempts);
        }

        await WriteAsync();
        CallWebhooks(due);
    }

    private void CallWebhooks(IReadOnlyList<PendingWebhook> webhooks)
    {
        var self = this.AsReference<IJourneyGrain>();
        foreach (var webhook in webhooks)
        {
            var deliveryId = webhook.DeliveryId;
            services.Webhooks.Enqueue(_organizationId, webhook.Url, webhook.Method, webhook.BodyJson, _journeyId, webhook.StepId, deliveryId,
                succeeded => self.WebhookCompletedAsync(deliveryId, succeeded));
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
            services.Wakeups.Written(this.GetGrainId(), state.State.WakeAt);
        }
        catch
        {
            this.DeactivateOnIdle();
            throw;
        }
    }

    public async Task ResumeAsync()
    {
        if (state.State is not { Status: JourneyStatus.Waiting, Wait: WaitKind.Paused })
        {
            return;
        }

        var contact = await Contact.GetSnapshotAsync();
        var outcome = await TurnAsync(new JourneyStimulus.Resume(), contact, state.State.Version, WorkflowStatuses.Active);
        await ReportAsync(outcome);
    }

    public async Task<JourneyOutcome> EndAsync(string reason)
    {
        if (!state.State.IsInJourney && state.State.Status != JourneyStatus.Scheduled)
        {
            return new JourneyOutcome { Active = false, Entry = state.State.Entry };
        }

        var version = state.State.Status == JourneyStatus.Scheduled ? state.State.ScheduledVersion : state.State.Version;
        var outcome = await TurnAsync(new JourneyStimulus.End(reason), new ContactSnapshot(), version);
        if (reason != "erased")
        {
            await ReportAsync(outcome);
        }

        return outcome;
    }

    public Task<JourneyView?> GetAsync()
    {
        var s = state.State;
        if (s.Status == JourneyStatus.None && s.Entry == 0)
        {
            return Task.FromResult<JourneyView?>(null);
        }

        return Task.FromResult<JourneyView?>(new JourneyView
        {
            JourneyId = _journeyId,
            OrganizationId = _organizationId,
            WorkflowId = _workflowId,
            ContactId = _contactId,
            Version = s.Status == JourneyStatus.Scheduled && s.Entry == 0 ? s.ScheduledVersion : s.Version,
            Entry = s.Entry,
            Status = StatusName(s.Status),
            StepId = s.StepId,
            WaitingFor = s.Status is JourneyStatus.Waiting or JourneyStatus.Scheduled ? s.Wait.ToString().ToLowerInvariant() : null,
            DueAt = s.DueAt,
            EnteredAt = s.EnteredAt,
            EndedAt = s.EndedAt,
            EndReason = s.EndReason,
            GoalReached = s.GoalReached,
            History = s.History.Select(h => new JourneyHistoryItem { At = h.At, Kind = h.Kind, StepId = h.StepId, Detail = h.Detail, Entry = h.Entry, Version = h.Version }).ToList(),
        });
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Only journeys stored before the wake shards hold a reminder of their own: drop it (the shards wake them now),
        // then decide from stored state as any wake does.
        await state.ReadStateAsync();
        await UnregisterReminderAsync(fired: true);
        await WakeAsync();
    }

    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        _timerDue = null;
        await WakeAsync();
    }

    private async Task<JourneyOutcome> TurnAsync(JourneyStimulus stimulus, ContactSnapshot contact, int version, string? workflowStatus = null)
    {
        var definition = await services.Definitions.GetAsync(_organizationId, _workflowId, version);
        if (definition is null)
        {
            return new JourneyOutcome { Rejected = $"version {version} of the workflow does not exist", Active = state.State.IsInJourney, Entry = state.State.Entry };
        }

        workflowStatus ??= (await services.Triggers.GetAsync(_organizationId)).StatusOf(_workflowId);
        var s = state.State;
        s.OrganizationId = _organizationId;
        s.WorkflowId = _workflowId;
        s.ContactId = _contactId;
        var context = new JourneyContext
        {
            JourneyId = _journeyId,
            WorkflowStatus = workflowStatus,
            ContactProperties = ParseObject(contact.PropertiesJson),
            ContactTimeZone = contact.TimeZone,
            RecentSends = [.. contact.RecentSends],
            Opens = definition.Steps.Any(step => step.OptimalTime) ? await OpensAsync(definition, contact) : null,
            Winners = definition.Steps.Any(step => step.AutoWinner is not null) ? await services.Winners.GetAsync(_organizationId, _workflowId) : null,
        };
        var now = Now;
        var stepBefore = s.IsInJourney ? s.StepId : null;
        var plan = services.Planner.Plan(definition, s, stimulus, context, now);
        return await ApplyAsync(plan, contact, now, stepBefore);
    }

    private async Task<OpenHours> OpensAsync(WorkflowDefinition definition, ContactSnapshot contact)
    {
        try
        {
            return await services.OpenHistory.GetAsync(
                _organizationId, _contactId, LocalTimes.Zone(contact.TimeZone, definition.Settings.TimeZone), LocalTimes.Zone(null, definition.Settings.TimeZone));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without the history an optimal-time wait falls back to the send window or no wait at all.
            services.Logger.LogWarning(e, "Open history for journey {JourneyId} unavailable", _journeyId);
            return OpenHours.None;
        }
    }

    private async Task<JourneyOutcome> ApplyAsync(JourneyPlan plan, ContactSnapshot contact, DateTimeOffset now, string? stepBefore)
    {
        var s = state.State;
        var outcome = new JourneyOutcome { Rejected = plan.Rejected };
        if (plan.Rejected is null && plan.Changed)
        {
            var sends = plan.Actions.OfType<JourneyAction.Send>().Select(a => a.Request).ToList();
            foreach (var send in sends)
            {
                send.Email = contact.Email;
            }

            s.PendingSends.AddRange(sends);
            s.PendingSendsRetryAt = s.PendingSends.Count > 0 ? now + services.Options.PendingSendRetry : null;
            var webhooks = plan.Actions.OfType<JourneyAction.Webhook>().Select(w => new PendingWebhook
            {
                DeliveryId = Guid.CreateVersion7(now).ToString(),
                StepId = w.StepId,
                Url = w.Url,
                Method = w.Method,
                BodyJson = w.BodyJson,
                Attempts = 1,
                NextAttemptAt = WebhookRetry.After(1, now, services.Options.WebhookRetryBase, services.Options.WebhookMaxAttempts),
            }).ToList();
            s.PendingWebhooks.AddRange(webhooks);
            try
            {
                // The due time is written with the state, into the wake index: no separate registration to order.
                await state.WriteStateAsync();
                services.Wakeups.Written(this.GetGrainId(), s.WakeAt);
            }
            catch
            {
                // The in-memory state is ahead of storage: drop this activation so the next call reloads.
                this.DeactivateOnIdle();
                throw;
            }

            services.Store.Record(Row(now), plan.History.Select(h => new JourneyEventRow(
                _organizationId, _workflowId, _contactId, _journeyId, h.Version, h.Entry, h.Kind, h.StepId, h.Detail, h.At)).ToList());
            services.Counters.Add(_organizationId, _workflowId, plan.Counters);
            PublishMoves(plan, stepBefore);
            if (plan.Held)
            {
                await GrainFactory.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, _workflowId)).HoldAsync(_contactId);
            }

            await FlushSendsAsync();
            CallWebhooks(webhooks);

            outcome.ContactUpdates = plan.Actions.OfType<JourneyAction.UpdateContact>().Select(u => u.SetJson).ToList();
            outcome.Sends = sends.Select(_ => now).ToList();
        }

        outcome.Active = s.IsInJourney || s.Status == JourneyStatus.Scheduled;
        outcome.Entry = s.Entry;
        var deactivate = !outcome.Active || s.DueAt is not { } due || due - now > services.Options.TimerWindow;
        if (!outcome.Active)
        {
            await UnregisterReminderAsync();
        }

        SetTimer(outcome.Active ? s.DueAt : null);
        if (deactivate)
        {
            // A long wait costs no memory: a wake shard brings the journey back. That delivery acknowledged this turn's
            // sends is not written on its own: the next activation re-issues them and delivery drops them by send key.
            this.DeactivateOnIdle();
        }

        return outcome;
    }

    private async Task FlushSendsAsync()
    {
        var s = state.State;
        foreach (var pending in s.PendingSends.ToList())
        {
            try
            {
                var receipt = await services.SendStep.SendAsync(new SendRequest
                {
                    SendKey = pending.SendKey,
                    OrganizationId = _organizationId,
                    ContactId = _contactId,
                    Email = pending.Email,
                    TemplateId = Guid.TryParse(pending.TemplateId, out var templateId) ? templateId : Guid.Empty,
                    Variant = pending.Variant,
                    WorkflowId = _workflowId,
                    JourneyId = _journeyId,
                    StepId = pending.StepId,
                    Transactional = pending.Transactional,
                    EventJson = s.TriggerEventJson,
                    SubjectOverride = pending.Subject,
                });
                // Acknowledged: forgotten in memory now, in storage with the next turn's write (until then a new activation
                // re-issues it, and delivery deduplicates by key).
                s.PendingSends.Remove(pending);
                if (receipt.Status is SendStatus.Failed or SendStatus.Suppressed)
                {
                    var outcome = services.Planner.RecordSendOutcome(s, pending.SendKey, receipt.Status == SendStatus.Failed ? "failed" : "suppressed", Now);
                    services.Counters.Add(_organizationId, _workflowId, outcome.Counters);
                    services.Store.Record(Row(Now), outcome.History.Select(h => new JourneyEventRow(
                        _organizationId, _workflowId, _contactId, _journeyId, h.Version, h.Entry, h.Kind, h.StepId, h.Detail, h.At)).ToList());
                }
            }
            catch (Exception ex)
            {
                services.Logger.LogWarning(ex, "Send {SendKey} not acknowledged by delivery; it stays pending and is retried.", pending.SendKey);
            }
        }
    }

    private async Task ReportAsync(JourneyOutcome outcome)
    {
        if (outcome.Rejected is null && (outcome.Sends.Count > 0 || outcome.ContactUpdates.Count > 0 || !outcome.Active))
        {
            await Contact.OnJourneyActivityAsync(_workflowId, outcome);
        }
    }

    private void SetTimer(DateTimeOffset? due)
    {
        if (due == _timerDue && _timer is not null)
        {
            return;
        }

        _timer?.Dispose();
        _timer = null;
        _timerDue = null;
        if (due is not { } d || state.State.Status is not (JourneyStatus.Waiting or JourneyStatus.Scheduled))
        {
            return;
        }

        if (d - Now > services.Options.TimerWindow)
        {
            return;
        }

        _timerDue = d;
        _timer = services.Time.RegisterDueTimer(this, OnTimerAsync, d, keepAlive: true);
    }

    private async Task UnregisterReminderAsync(bool fired = false)
    {
        if (state.State.ReminderDue is null && !fired)
        {
            return;
        }

        var reminder = await this.GetReminder(ReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }

        // Not written on its own: a stale value only costs one more look-up later.
        state.State.ReminderDue = null;
    }

    /// <summary>Tells the live dashboard which steps this plan moved the journey between.</summary>
    private void PublishMoves(JourneyPlan plan, string? current)
    {
        foreach (var h in plan.History)
        {
            (string? From, string? To)? move = h.Kind switch
            {
                "enter" => (null, h.StepId),
                "step" => (h.StepId, h.Detail),
                "complete" => (current, null),
                "exit" => (h.StepId ?? current, null),
                _ => null,
            };
            if (move is { } m)
            {
                services.Live.JourneyMoved(_organizationId, _workflowId, _journeyId, _contactId, m.From, m.To, h.At);
                services.Measurements.JourneyMoved(_organizationId, _workflowId, m.From, m.To);
                current = m.To;
            }
        }
    }

    private JourneyRow Row(DateTimeOffset now)
    {
        var s = state.State;
        return new JourneyRow(_organizationId, _workflowId, _contactId, _journeyId, s.Version, s.Entry, StatusName(s.Status), s.StepId,
            s.Status is JourneyStatus.Waiting or JourneyStatus.Scheduled ? s.Wait.ToString().ToLowerInvariant() : null, s.DueAt, s.EnteredAt, s.EndedAt, now);
    }

    private static string StatusName(JourneyStatus status) => status.ToString().ToLowerInvariant();

    private static JsonElement? ParseObject(string? json)
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
}
