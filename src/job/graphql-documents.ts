/**
 * Every GraphQL document the Job sends. Kept apart from the client so tests can check each one against
 * GitHub's published schema without loading @octokit/graphql.
 */

/** One query for everything: the branch head, its open PRs with labels and our markers, and both label ids. */
export const RESOLVE_QUERY = `query Resolve($owner: String!, $name: String!, $ref: String!, $ready: String!, $remediation: String!) {
  repository(owner: $owner, name: $name) {
    id
    ref(qualifiedName: $ref) {
      target { oid }
      associatedPullRequests(states: [OPEN], first: 5) {
        nodes {
          id
          number
          headRefName
          labels(first: 100) { nodes { id name } }
          comments(last: 30) { nodes { body viewerDidAuthor } }
        }
      }
    }
    readyLabel: label(name: $ready) { id }
    remediationLabel: label(name: $remediation) { id }
  }
}`;

export const CREATE_LABEL_MUTATION = `mutation CreateLabel($repositoryId: ID!, $name: String!, $color: String!, $description: String) {
  createLabel(input: { repositoryId: $repositoryId, name: $name, color: $color, description: $description }) {
    label { id }
  }
}`;

export interface TransitionParts {
  readonly remove: boolean;
  readonly add: boolean;
  readonly comment: boolean;
}

/** The label transition as one mutation document with only the fields this PR needs. */
export function transitionMutation(p: TransitionParts): string {
  const vars = ['$pr: ID!', p.remove && '$remove: [ID!]!', p.add && '$add: [ID!]!', p.comment && '$body: String!'].filter(Boolean);
  const fields = [
    p.remove && 'removeLabelsFromLabelable(input: { labelableId: $pr, labelIds: $remove }) { clientMutationId }',
    p.add && 'addLabelsToLabelable(input: { labelableId: $pr, labelIds: $add }) { clientMutationId }',
    p.comment && 'addComment(input: { subjectId: $pr, body: $body }) { clientMutationId }',
  ].filter(Boolean);
  if (fields.length === 0) throw new Error('transitionMutation: nothing to change');
  return `mutation Transition(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`;
}

/** Every variant of every document, for schema tests. */
export function allDocuments(): Record<string, string> {
  const docs: Record<string, string> = { RESOLVE_QUERY, CREATE_LABEL_MUTATION };
  for (let bits = 1; bits < 8; bits++) {
    const p = { remove: !!(bits & 1), add: !!(bits & 2), comment: !!(bits & 4) };
    docs[`transition(${JSON.stringify(p)})`] = transitionMutation(p);
  }
  return docs;
}
