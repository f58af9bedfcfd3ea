/** What every REST request to GitHub sends: the API version it was written against, JSON, and who is asking. */
export function restHeaders(authorization: string, json = false): Record<string, string> {
  return {
    authorization,
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'agent-cancellation',
    ...(json ? { 'content-type': 'application/json' } : {}),
  };
}
