/**
 * Every GraphQL document the Job sends. Kept apart from the client so tests can check each one against
 * GitHub's published schema without loading @octokit/graphql.
 */

/** The recent label additions of a PR: when ready-for-qa was last added orders it against a push. */
const LABEL_EVENTS = 'timelineItems(itemTypes: [LABELED_EVENT], last: 20) { nodes { ... on LabeledEvent { createdAt label { name } } } }';

/**
 * One query for everything: the branch head, its open PRs with labels, our markers and recent label events,
 * and the remediation label's id.
 */
export const RESOLVE_QUERY = `query Resolve($owner: String!, $name: String!, $ref: String!, $remediation: String!) {
  repository(owner: $owner, name: $name) {
    id
    ref(qualifiedName: $ref) {
      target { oid }
      associatedPullRequests(states: [OPEN], first: 5) {
        nodes {
          id
          number
          headRefName
          baseRepository { id }
          labels(first: 100) { nodes { id name } }
          comments(last: 30) { nodes { body viewerDidAuthor } }
          ${LABEL_EVENTS}
        }
      }
    }
    remediationLabel: label(name: $remediation) { id }
  }
}`;

const AUTHOR = 'author { name email user { login } }';

/** Most aliased PRs and commits in one view query, well inside GitHub's node limits. */
export const VIEW_BATCH = 50;

/**
 * The reconciler's view of one repository: both label ids, the open PRs carrying either label (with their head
 * commit, for the resync), the PRs (and, optionally, the commits) its state records, as aliases `p<i>` and
 * `c<i>`, and what the request cost, in one request.
 */
export function viewQuery(prs: number, commits: number): string {
  const vars = ['$owner: String!', '$name: String!', '$ready: String!', '$remediation: String!'];
  const fields = [
    'id',
    'readyLabel: label(name: $ready) { id }',
    'remediationLabel: label(name: $remediation) { id }',
    'labelled: pullRequests(states: [OPEN], labels: [$ready, $remediation], first: 100, orderBy: { field: UPDATED_AT, direction: DESC }) { nodes { ...Pr } }',
  ];
  for (let i = 0; i < prs; i++) {
    vars.push(`$n${i}: Int!`);
    fields.push(`p${i}: pullRequest(number: $n${i}) { ...Pr }`);
  }
  for (let i = 0; i < commits; i++) {
    vars.push(`$o${i}: GitObjectID!`);
    fields.push(`c${i}: object(oid: $o${i}) { ... on Commit { ${AUTHOR} } }`);
  }
  return `query View(${vars.join(', ')}) {
  rateLimit { cost remaining }
  repository(owner: $owner, name: $name) {
    ${fields.join('\n    ')}
  }
}
fragment Pr on PullRequest {
  id
  number
  state
  headRefName
  labels(first: 100) { nodes { id name } }
  comments(last: 30) { nodes { body viewerDidAuthor } }
  ${LABEL_EVENTS}
  commits(last: 1) { nodes { commit { oid committedDate ${AUTHOR} } } }
}`;
}

export const CREATE_LABEL_MUTATION = `mutation CreateLabel($repositoryId: ID!, $name: String!, $color: String!, $description: String) {
  createLabel(input: { repositoryId: $repositoryId, name: $name, color: $color, description: $description }) {
    label { id }
  }
}`;

/** A label's id by name, for a `createLabel` that found the name taken: the repository by node id, as createLabel has it. */
export const LABEL_QUERY = `query Label($repositoryId: ID!, $name: String!) {
  node(id: $repositoryId) {
    ... on Repository { label(name: $name) { id } }
  }
}`;

export interface TransitionParts {
  readonly remove: boolean;
  readonly add: boolean;
  readonly comment: boolean;
}

/** The root field of each part of a transition, in the order GitHub runs them. */
export const TRANSITION_FIELDS = { remove: 'removeLabelsFromLabelable', add: 'addLabelsToLabelable', comment: 'addComment' } as const;

/** The label transition as one mutation document with only the fields this PR needs. */
export function transitionMutation(p: TransitionParts): string {
  const vars = ['$pr: ID!', p.remove && '$remove: [ID!]!', p.add && '$add: [ID!]!', p.comment && '$body: String!'].filter(Boolean);
  const fields = [
    p.remove && `${TRANSITION_FIELDS.remove}(input: { labelableId: $pr, labelIds: $remove }) { clientMutationId }`,
    p.add && `${TRANSITION_FIELDS.add}(input: { labelableId: $pr, labelIds: $add }) { clientMutationId }`,
    p.comment && `${TRANSITION_FIELDS.comment}(input: { subjectId: $pr, body: $body }) { clientMutationId }`,
  ].filter(Boolean);
  if (fields.length === 0) throw new Error('transitionMutation: nothing to change');
  return `mutation Transition(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`;
}

/** Every variant of every document, for schema tests. */
export function allDocuments(): Record<string, string> {
  const docs: Record<string, string> = {
    RESOLVE_QUERY,
    CREATE_LABEL_MUTATION,
    LABEL_QUERY,
    'viewQuery(0, 0)': viewQuery(0, 0),
    [`viewQuery(${VIEW_BATCH}, ${VIEW_BATCH})`]: viewQuery(VIEW_BATCH, VIEW_BATCH),
  };
  for (let bits = 1; bits < 8; bits++) {
    const p = { remove: !!(bits & 1), add: !!(bits & 2), comment: !!(bits & 4) };
    docs[`transition(${JSON.stringify(p)})`] = transitionMutation(p);
  }
  return docs;
}
