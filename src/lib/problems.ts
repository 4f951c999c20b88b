/**
 * An error that is a list of problems (bad inputs, refused objects, unreadable files), each one
 * line that names its subject: callers show or compare `problems` without parsing the message.
 */
export class ProblemsError extends Error {
  constructor(
    readonly problems: string[],
    /** The whole text; the problems one per line when not given. */
    message = problems.join('\n')
  ) {
    super(message)
    this.name = new.target.name
  }
}
