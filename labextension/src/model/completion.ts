/**
 * Composer completion: slash commands at the start of the message and
 * `$skill` tokens anywhere. Pure functions, so they are unit-tested directly.
 */
import { Codex } from '../tokens';

export interface ICompletionItem {
  /** Text that replaces the token. */
  readonly insert: string;
  /** What the list shows. */
  readonly label: string;
  readonly description: string;
}

export interface ICompletion {
  /** Range of the text the chosen item replaces. */
  readonly start: number;
  readonly end: number;
  readonly items: readonly ICompletionItem[];
}

/** The server's slash commands (docs/rest-api.md, "messages"). */
export const SLASH_COMMANDS: readonly ICompletionItem[] = [
  {
    insert: '/status',
    label: '/status',
    description: 'Account, model, usage, token counts and folder'
  },
  {
    insert: '/review ',
    label: '/review [instructions]',
    description: 'Review the uncommitted changes'
  },
  {
    insert: '/new ',
    label: '/new [title]',
    description: 'New session in the same folder'
  },
  {
    insert: '/model ',
    label: '/model [name] [effort]',
    description: 'Show or set the model and reasoning effort'
  }
];

/**
 * Complete a slash command: only while the caret is inside the first word of
 * the message and that word starts with `/`.
 */
export function completeSlash(text: string, caret: number): ICompletion | null {
  if (!text.startsWith('/')) {
    return null;
  }
  const firstSpace = text.search(/\s/);
  const wordEnd = firstSpace === -1 ? text.length : firstSpace;
  if (caret > wordEnd || caret < 1) {
    return null;
  }
  const prefix = text.slice(1, caret).toLowerCase();
  const items = SLASH_COMMANDS.filter(item =>
    item.insert.slice(1).startsWith(prefix)
  );
  if (
    items.length === 0 ||
    (items.length === 1 && items[0].insert.trim() === text.slice(0, wordEnd))
  ) {
    return null;
  }
  return { start: 0, end: wordEnd, items };
}

/**
 * Complete a `$skill` token that ends at the caret, from the skills the
 * server lists for the session.
 */
export function completeSkill(
  text: string,
  caret: number,
  skills: readonly Codex.ISkill[]
): ICompletion | null {
  const before = text.slice(0, caret);
  const match = /(^|\s)\$([\w.-]*)$/.exec(before);
  if (!match) {
    return null;
  }
  const start = caret - match[2].length - 1;
  const prefix = match[2].toLowerCase();
  const rest = /^[\w.-]*/.exec(text.slice(caret));
  const end = caret + (rest ? rest[0].length : 0);
  const items = skills
    .filter(skill => skill.name.toLowerCase().includes(prefix))
    .sort((a, b) => {
      const pa = a.name.toLowerCase().startsWith(prefix) ? 0 : 1;
      const pb = b.name.toLowerCase().startsWith(prefix) ? 0 : 1;
      return pa - pb || a.name.localeCompare(b.name);
    })
    .map(skill => ({
      insert: `$${skill.name} `,
      label: `$${skill.name}`,
      description: skill.description
    }));
  return items.length ? { start, end, items } : null;
}

/** Either completion that applies at the caret (slash first). */
export function complete(
  text: string,
  caret: number,
  skills: readonly Codex.ISkill[]
): ICompletion | null {
  return completeSlash(text, caret) ?? completeSkill(text, caret, skills);
}

/** Put an item into the text; returns the new text and caret. */
export function applyCompletion(
  text: string,
  completion: ICompletion,
  item: ICompletionItem
): { text: string; caret: number } {
  let after = text.slice(completion.end);
  const insert = item.insert;
  if (insert.endsWith(' ') && after.startsWith(' ')) {
    after = after.slice(1);
  }
  const next = text.slice(0, completion.start) + insert + after;
  return { text: next, caret: completion.start + insert.length };
}

/**
 * The composer's key decision: send, newline, or nothing special.
 * With `enterToSend`, Enter sends and Shift+Enter is a newline; without it,
 * Ctrl/Cmd+Enter sends and Enter is a newline.
 */
export function enterAction(
  event: {
    key: string;
    shiftKey: boolean;
    ctrlKey: boolean;
    metaKey: boolean;
    altKey?: boolean;
    isComposing?: boolean;
  },
  enterToSend: boolean
): 'send' | 'newline' | null {
  if (event.key !== 'Enter' || event.isComposing) {
    return null;
  }
  if (enterToSend) {
    return event.shiftKey ? 'newline' : 'send';
  }
  return event.ctrlKey || event.metaKey ? 'send' : 'newline';
}
