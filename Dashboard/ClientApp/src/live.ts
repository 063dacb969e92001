import { HttpTransportType, HubConnection, HubConnectionBuilder, HubConnectionState, LogLevel } from '@microsoft/signalr';
import { useEffect, useRef, useState } from 'react';
import { getAccessToken, onAuthChange, refresh } from './api';

// One hub connection per signed-in tab (GET /hubs/live, token as ?access_token=); screens subscribe to it.
// WebSockets only, without the negotiate request: the whole connection is one request to one dashboard pod, so several
// dashboard replicas behind a load balancer need no sticky sessions (the server accepts WebSockets alone, too).

export interface JourneyMoved {
  workflowId: string;
  journeyId: string;
  contactId: string;
  fromStep: string | null;
  toStep: string | null;
  at: string;
}

export interface StatsMessage {
  workflowId: string;
  steps: Record<string, { waiting: number; passed: number }>;
  delta: boolean;
}

export interface ProviderStateMessage {
  name: string;
  state: string;
  at: string;
}

export interface SendRateMessage {
  perSecond: number;
  byProvider: Record<string, number>;
  eventsPerSecond: number;
}

export interface LiveHandlers {
  journeyMoved?: (moves: JourneyMoved[]) => void;
  stats?: (stats: StatsMessage) => void;
  providerState?: (state: ProviderStateMessage) => void;
  sendRate?: (rate: SendRateMessage) => void;
}

let connection: HubConnection | null = null;
const subscribers = new Set<LiveHandlers>();
const stateListeners = new Set<(state: HubConnectionState) => void>();

function notifyState() {
  const state = connection?.state ?? HubConnectionState.Disconnected;
  stateListeners.forEach((l) => l(state));
}

function dispatch<K extends keyof LiveHandlers>(method: K, payload: Parameters<NonNullable<LiveHandlers[K]>>[0]) {
  subscribers.forEach((s) => (s[method] as ((p: typeof payload) => void) | undefined)?.(payload));
}

async function start() {
  if (connection || !getAccessToken()) {
    return;
  }
  const hub = new HubConnectionBuilder()
    .withUrl('/hubs/live', {
      transport: HttpTransportType.WebSockets,
      skipNegotiation: true,
      accessTokenFactory: async () => getAccessToken() ?? ((await refresh()) ? getAccessToken() ?? '' : ''),
    })
    .withAutomaticReconnect([0, 1000, 2000, 5000, 10000, 10000, 30000])
    .configureLogging(LogLevel.Warning)
    .build();
  hub.on('journeyMoved', (moves: JourneyMoved[]) => dispatch('journeyMoved', moves));
  hub.on('stats', (stats: StatsMessage) => dispatch('stats', stats));
  hub.on('providerState', (state: ProviderStateMessage) => dispatch('providerState', state));
  hub.on('sendRate', (rate: SendRateMessage) => dispatch('sendRate', rate));
  hub.onreconnecting(notifyState);
  hub.onreconnected(notifyState);
  hub.onclose(() => {
    if (connection === hub) {
      connection = null;
    }
    notifyState();
  });
  connection = hub;
  try {
    await hub.start();
  } catch {
    connection = null;
  }
  notifyState();
}

async function stop() {
  const hub = connection;
  connection = null;
  await hub?.stop();
  notifyState();
}

onAuthChange((signedIn) => void (signedIn ? start() : stop()));

/** Subscribes the calling component to live messages while it is mounted (the latest handlers are used). */
export function useLive(handlers: LiveHandlers): HubConnectionState {
  const [state, setState] = useState<HubConnectionState>(connection?.state ?? HubConnectionState.Disconnected);
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const relay: LiveHandlers = {
      journeyMoved: (m) => current.current.journeyMoved?.(m),
      stats: (m) => current.current.stats?.(m),
      providerState: (m) => current.current.providerState?.(m),
      sendRate: (m) => current.current.sendRate?.(m),
    };
    subscribers.add(relay);
    stateListeners.add(setState);
    void start();
    return () => {
      subscribers.delete(relay);
      stateListeners.delete(setState);
    };
  }, []);
  return state;
}
