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
          comments(last: 30) { nodes { id body viewerDidAuthor } }
          ${LABEL_EVENTS}
        }
      }
    }
    remediationLabel: label(name: $remediation) { id }
  }
}`;

const AUTHOR = 'author { name email user { login } }';

/** What both reads take of a PR: its state, labels, our markers, recent label events and the head commit. */
const PR_FRAGMENT = `fragment Pr on PullRequest {
  id
  number
  state
  isDraft
  isCrossRepository
  headRefName
  closedAt
  updatedAt
  labels(first: 100) { nodes { id name } }
  comments(last: 30) { nodes { id body viewerDidAuthor } }
  ${LABEL_EVENTS}
  commits(last: 1) { nodes { commit { oid committedDate ${AUTHOR} } } }
}`;

/** The PRs read per task branch, newest first: the task's own, and room for one from a fork of the same name. */
export const BRANCH_PRS = 2;

/** Aliases one survey request carries at most: well inside GitHub's 500,000 nodes and its 10 s time-out. */
export const SURVEY_BATCH = 100;

/** What a survey asks of one repository: task branches, PRs by number, commits by oid. */
export interface SurveyShape {
  readonly branches: number;
  readonly prs: number;
  readonly commits: number;
}

/**
 * The reconciler's one read of GitHub, for many repositories at once (aliases `r<i>`): per repository its id and
 * label ids, the PRs of each task branch (`b<j>`, any state), the PRs its records name (`p<j>`) and the commits
 * compensation checks (`c<j>`), and what the request cost. Only repositories with work are asked about.
 */
export function surveyQuery(repositories: readonly SurveyShape[]): string {
  const vars = ['$ready: String!', '$remediation: String!'];
  const blocks = repositories.map((shape, i) => {
    vars.push(`$r${i}o: String!`, `$r${i}n: String!`);
    const fields = ['id', 'readyLabel: label(name: $ready) { id }', 'remediationLabel: label(name: $remediation) { id }'];
    for (let j = 0; j < shape.branches; j++) {
      vars.push(`$r${i}b${j}: String!`);
      fields.push(
        `b${j}: pullRequests(headRefName: $r${i}b${j}, first: ${BRANCH_PRS}, orderBy: { field: CREATED_AT, direction: DESC }) { nodes { ...Pr } }`,
      );
    }
    for (let j = 0; j < shape.prs; j++) {
      vars.push(`$r${i}p${j}: Int!`);
      fields.push(`p${j}: pullRequest(number: $r${i}p${j}) { ...Pr }`);
    }
    for (let j = 0; j < shape.commits; j++) {
      vars.push(`$r${i}c${j}: GitObjectID!`);
      fields.push(`c${j}: object(oid: $r${i}c${j}) { ... on Commit { ${AUTHOR} } }`);
    }
    return `  r${i}: repository(owner: $r${i}o, name: $r${i}n) {\n    ${fields.join('\n    ')}\n  }`;
  });
  const usesPr = repositories.some((r) => r.branches + r.prs > 0);
  return `query Survey(${vars.join(', ')}) {\n  rateLimit { cost remaining }\n${blocks.join('\n')}\n}\n${usesPr ? PR_FRAGMENT : ''}`;
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
  /** The marker: a new comment, the PR's marker comment edited in place, or none. */
  readonly comment: false | 'add' | 'edit';
}

/** The root field of each part of a transition, in the order GitHub runs them; the marker's by how it is written. */
export const TRANSITION_FIELDS = {
  remove: 'removeLabelsFromLabelable',
  add: 'addLabelsToLabelable',
  comment: { add: 'addComment', edit: 'updateIssueComment' },
} as const;

/** The label transition as one mutation document with only the fields this PR needs. */
export function transitionMutation(p: TransitionParts): string {
  const vars = [
    (p.remove || p.add || p.comment === 'add') && '$pr: ID!',
    p.remove && '$remove: [ID!]!',
    p.add && '$add: [ID!]!',
    p.comment && '$body: String!',
    p.comment === 'edit' && '$comment: ID!',
  ].filter(Boolean);
  const fields = [
    p.remove && `${TRANSITION_FIELDS.remove}(input: { labelableId: $pr, labelIds: $remove }) { clientMutationId }`,
    p.add && `${TRANSITION_FIELDS.add}(input: { labelableId: $pr, labelIds: $add }) { clientMutationId }`,
    p.comment === 'add' && `${TRANSITION_FIELDS.comment.add}(input: { subjectId: $pr, body: $body }) { clientMutationId }`,
    p.comment === 'edit' && `${TRANSITION_FIELDS.comment.edit}(input: { id: $comment, body: $body }) { clientMutationId }`,
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
    'surveyQuery(one repository, nothing asked)': surveyQuery([{ branches: 0, prs: 0, commits: 0 }]),
    'surveyQuery(two repositories, every kind of alias)': surveyQuery([
      { branches: 2, prs: 1, commits: 1 },
      { branches: 1, prs: 0, commits: 0 },
    ]),
  };
  for (const comment of [false, 'add', 'edit'] as const) {
    for (let bits = comment ? 0 : 1; bits < 4; bits++) {
      const p = { remove: !!(bits & 1), add: !!(bits & 2), comment };
      docs[`transition(${JSON.stringify(p)})`] = transitionMutation(p);
    }
  }
  return docs;
}
