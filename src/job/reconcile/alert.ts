/** The optional webhook of a needs-attention alert: a generic JSON POST whose `text` Slack shows as is. */
export interface Alert {
  readonly reason: string;
  readonly namespace: string;
  readonly lease: string;
  readonly repository: string;
  readonly pr: number;
  readonly taskId: string;
  readonly failures: number;
  readonly lastError?: string;
}

export type AlertSender = (alert: Alert) => Promise<void>;

export function alertText(a: Alert): string {
  return (
    `agent-cancellation needs attention: ${a.repository}#${a.pr} (task ${a.taskId}), ${a.reason}; ` +
    `${a.failures} failed repair(s)${a.lastError ? `, last error: ${a.lastError}` : ''}. ` +
    `State: kubectl -n ${a.namespace} get lease ${a.lease} -o yaml`
  );
}

/** POSTs `{ text, ...alert }`; any non-2xx answer or network error is a failure the caller records. */
export function webhookSender(url: string, timeoutMs = 10_000): AlertSender {
  return async (alert) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: alertText(alert), ...alert }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`alert webhook answered HTTP ${res.status}`);
  };
}
