/**
 * Titles and texts the timeline's bubbles show (pure, no React).
 */
import { Codex } from '../tokens';
import { Bubble, IApprovalBubble, ICommandBubble, IToolBubble } from './timeline';

/** The verb of one file change: Created, Deleted, Moved, Renamed or Edited. */
export function changeVerb(change: Codex.IFileChange): string {
  const dir = (p: string) => p.replace(/[^/]*$/, '');
  const moved = (to: string | null) =>
    to && dir(to) === dir(change.path) ? 'Renamed' : 'Moved';
  switch (change.kind) {
    case 'add':
      return 'Created';
    case 'delete':
      return 'Deleted';
    case 'move':
      return moved(change.move_path);
    default:
      return change.move_path ? moved(change.move_path) : 'Edited';
  }
}

/**
 * A one-line summary of what a command did when codex parsed it (reads,
 * searches, listings), e.g. "Read a.py, b.py"; `null` for other commands.
 */
export function commandSummary(bubble: ICommandBubble): string | null {
  const reads = bubble.actions.filter(a => a.type === 'read');
  if (reads.length && reads.length === bubble.actions.length) {
    return `Read ${reads.map(a => a.name ?? a.path).join(', ')}`;
  }
  const search = bubble.actions.find(a => a.type === 'search');
  if (search) {
    return `Searched ${search.query ? `"${search.query}"` : ''}${search.path ? ` in ${search.path}` : ''}`;
  }
  const list = bubble.actions.find(a => a.type === 'list_files');
  if (list) {
    return `Listed ${list.path ?? 'files'}`;
  }
  return null;
}

/** The title of a tool-like bubble: MCP, dynamic tool, web search, subagent. */
export function toolTitle(bubble: IToolBubble): string {
  const args: any = bubble.arguments ?? {};
  switch (bubble.toolKind) {
    case 'web_search':
      return `Searched the web${args.query ? `: ${args.query}` : ''}`;
    case 'collab':
      return `Subagent${args.prompt ? `: ${String(args.prompt).slice(0, 120)}` : ''}`;
    case 'mcp':
      return `MCP ${bubble.server ? `${bubble.server} · ` : ''}${bubble.tool}`;
    default:
      return `Tool ${bubble.tool}`;
  }
}

/** One content item of a tool result as text (images as a placeholder). */
function contentItemText(item: any): string {
  switch (item?.type) {
    case 'text': // MCP
    case 'inputText': // dynamic tools
      return String(item.text ?? '');
    case 'image':
    case 'inputImage':
      return '[image]';
    default:
      return JSON.stringify(item);
  }
}

/**
 * A tool's result as readable text: the text items of an MCP result
 * (`{content: [...]}`) or of a dynamic tool's content items (a list, or
 * `{contentItems: [...]}`), anything else as JSON.
 */
export function toolResultText(result: unknown): string {
  if (result === null || result === undefined) {
    return '';
  }
  if (typeof result === 'string') {
    return result;
  }
  const r: any = result;
  const items = Array.isArray(r.content)
    ? r.content
    : Array.isArray(r.contentItems)
      ? r.contentItems
      : Array.isArray(r) &&
          r.length > 0 &&
          r.every((c: any) => typeof c?.type === 'string')
        ? r
        : null;
  if (items) {
    return items.map(contentItemText).join('\n');
  }
  return JSON.stringify(result, null, 2);
}

/** Where a command stands, its approval included (one state, one label). */
export interface ICommandState {
  /** `waiting` (for the user), `running`, `ok`, `failed`, `declined`, `cancelled`. */
  state: 'waiting' | 'running' | 'ok' | 'failed' | 'declined' | 'cancelled';
  label: string;
}

/**
 * The state a command bubble shows, from its events and from the approval
 * asked for it: "waiting for approval" rather than "running…" while the user
 * decides; a command the turn's end cancelled says so rather than "declined".
 */
export function commandState(
  bubble: ICommandBubble | null,
  approval: IApprovalBubble | null
): ICommandState {
  const decision = approval?.decision ?? null;
  if (approval && decision === null) {
    return { state: 'waiting', label: 'waiting for approval' };
  }
  if (decision === 'cancel') {
    return { state: 'cancelled', label: 'cancelled (turn ended)' };
  }
  if (decision === 'decline') {
    return {
      state: 'declined',
      label: approval?.by === 'timeout' ? 'declined (timed out)' : 'declined'
    };
  }
  if (!bubble || bubble.status === 'in_progress') {
    return { state: 'running', label: 'running…' };
  }
  if (bubble.status === 'declined') {
    return { state: 'declined', label: 'declined' };
  }
  if (bubble.exitCode !== null) {
    return {
      state: bubble.exitCode === 0 ? 'ok' : 'failed',
      label: `exit ${bubble.exitCode}`
    };
  }
  return {
    state: bubble.status === 'completed' ? 'ok' : 'failed',
    label: bubble.status
  };
}

/** The bubble (key prefix) an approval of each kind renders inside. */
const INLINE_APPROVAL_KINDS: { [kind: string]: string } = {
  command: 'command',
  notebook_run: 'tool'
};

/**
 * Approvals of commands and notebook runs by the call's item id, and the keys
 * of those whose call bubble exists (they render inside it).
 */
export function inlineApprovals(
  bubbles: readonly Bubble[],
  index: ReadonlyMap<string, number>
): { byItem: Map<string, IApprovalBubble>; merged: Set<string> } {
  const byItem = new Map<string, IApprovalBubble>();
  const merged = new Set<string>();
  for (const b of bubbles) {
    const host = b.kind === 'approval' ? INLINE_APPROVAL_KINDS[b.approval.kind] : undefined;
    if (b.kind === 'approval' && host && b.itemId) {
      byItem.set(b.itemId, b);
      if (index.has(`${host}:${b.itemId}`)) {
        merged.add(b.key);
      }
    }
  }
  return { byItem, merged };
}
