/**
 * A small ELIZA: reflects what it is told back as a question, as Weizenbaum's DOCTOR did.
 */
const reflections: Record<string, string> = {
  i: "you", me: "you", my: "your", am: "are", "i'm": "you're", mine: "yours",
  you: "I", your: "my", yours: "mine", are: "am", myself: "yourself"
}

const rules: ReadonlyArray<readonly [RegExp, ReadonlyArray<string>]> = [
  [/^(?:hello|hi|hey)\b/i, ["Hello. How are you feeling today?", "Hi there. What brings you here?"]],
  [/\bi need (.*)/i, ["Why do you need {0}?", "Would it really help you to get {0}?"]],
  [/\bi am (.*)/i, ["How long have you been {0}?", "Why do you say you are {0}?"]],
  [/\bi feel (.*)/i, ["Do you often feel {0}?", "What makes you feel {0}?"]],
  [/\bbecause (.*)/i, ["Is that the real reason?", "What other reasons come to mind?"]],
  [/\bmy (.*)/i, ["Tell me more about your {0}.", "Why does your {0} concern you?"]],
  [/\?$/, ["Why do you ask that?", "What do you think?"]],
  [/(.*)/, ["Please tell me more.", "How does that make you feel?", "I see. And what does that tell you?"]]
]

const reflect = (fragment: string) =>
  fragment.toLowerCase().replace(/[.!?]+$/, "").split(/\s+/).map((w) => reflections[w] ?? w).join(" ")

/** Eliza's answer to one sentence; `turn` varies the wording across a conversation. */
export const reply = (sentence: string, turn = 0): string => {
  for (const [pattern, answers] of rules) {
    const match = pattern.exec(sentence.trim())
    if (match) {
      const answer = answers[turn % answers.length]!
      return answer.replace("{0}", reflect(match[1] ?? ""))
    }
  }
  return "Please go on."
}

/** What Eliza says to introduce herself to someone. */
export const introduction = (name: string): ReadonlyArray<string> => [
  `Hi ${name}, I'm Eliza.`,
  "Before we begin, let me tell you a bit about myself.",
  "I was created by Joseph Weizenbaum at MIT in the mid-1960s.",
  "I'm a Rogerian psychotherapist: I mostly ask you questions.",
  "How are you feeling today?"
]

/** What Eliza says when her server shuts down in the middle of a conversation. */
export const farewell = "I'm afraid our time is up for today: the server is closing. Goodbye."
