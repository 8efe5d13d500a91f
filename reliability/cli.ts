/**
 * What the reliability commands (fuzz, soak, stall) share in reading their flags: a flag that
 * must be a whole number, and a list of names chosen from a set. A bad flag is said with the
 * command's usage, and exit code 2.
 */

/** `value`, the flag `--name`, as a whole number. */
export const wholeNumber = (usage: string, name: string, value: string | undefined): number => {
  if (value === undefined || !/^\d+$/.test(value)) {
    console.error(`--${name} must be a whole number\n${usage}`)
    process.exit(2)
  }
  return Number(value)
}

/** The items of `all` named in `list` (comma-separated; all of them when it is not given), in their order. */
export const chooseByName = <A extends { readonly name: string }>(
  usage: string,
  noun: string,
  all: ReadonlyArray<A>,
  list: string | undefined
): ReadonlyArray<A> => {
  const names = list?.split(",") ?? all.map((a) => a.name)
  const unknown = names.filter((name) => !all.some((a) => a.name === name))
  if (unknown.length > 0) {
    console.error(`unknown ${noun}: ${unknown.join(", ")}; the ${noun} are ${all.map((a) => a.name).join(", ")}\n${usage}`)
    process.exit(2)
  }
  return all.filter((a) => names.includes(a.name))
}
