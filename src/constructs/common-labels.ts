/** On every object of an installation, for `kubectl get all -l app.kubernetes.io/part-of=agent-cancellation`. */
export const PART_OF = { 'app.kubernetes.io/part-of': 'agent-cancellation' };
