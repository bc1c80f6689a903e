// The chat of this tab's session, kept in the tab's sessionStorage so that a refresh shows it
// again. It is never sent to or kept by the server, it is keyed by room and participant so that
// it cannot show up in another session, and it is cleared when the session is over.

const PREFIX = "rapport.chat.";

/** Remove every chat this tab keeps (the session ended, the person left, the link closed). */
export function forgetChats() {
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(PREFIX)) sessionStorage.removeItem(key);
  }
}

/** The kept chat of one participant in one room: {load, add}. */
export function chatStore(room, participantId) {
  const key = `${PREFIX}${room}.${participantId}`;
  const load = () => {
    try {
      const entries = JSON.parse(sessionStorage.getItem(key) || "[]");
      return Array.isArray(entries) ? entries : [];
    } catch {
      return [];
    }
  };
  return {
    key,
    load,
    /** Keep one message: {name, text, at, mine}. */
    add(entry) {
      try {
        sessionStorage.setItem(key, JSON.stringify([...load(), entry]));
      } catch {
        // storage full or refused: the chat still works, it just will not survive a refresh
      }
    },
  };
}
