// The redactor is the last line between a secret and a log: every rule of it is asserted
// on whole output strings, so a redactor that returns its input, or replaces with something
// else, fails here.
import { describe, expect, it } from '@jest/globals'
import { Redactor } from '../../src/host/redactor.js'

function redactorOf(...secrets: string[]): Redactor {
  const redactor = new Redactor()
  for (const secret of secrets) redactor.add(secret)
  return redactor
}

describe('Redactor', () => {
  it.each([
    { name: 'nothing registered', secrets: [], text: 'token abcd here', expected: 'token abcd here' },
    { name: 'one secret', secrets: ['s3cret'], text: 'pass=s3cret;', expected: 'pass=***;' },
    { name: 'every occurrence', secrets: ['s3cret'], text: 's3cret and s3cret', expected: '*** and ***' },
    { name: 'two secrets', secrets: ['alpha1', 'beta22'], text: 'alpha1/beta22', expected: '***/***' },
    {
      name: 'a secret containing another is replaced whole (longest first)',
      secrets: ['abcd', 'xxabcdxx'],
      text: 'k=xxabcdxx',
      expected: 'k=***'
    },
    {
      name: 'longest first whatever the registration order',
      secrets: ['xxabcdxx', 'abcd'],
      text: 'k=xxabcdxx and abcd',
      expected: 'k=*** and ***'
    },
    {
      name: 'each line of a multi-line secret on its own',
      secrets: ['line-one\nline-two'],
      text: 'printed: line-two',
      expected: 'printed: ***'
    },
    {
      name: 'CRLF lines and surrounding blanks trimmed',
      secrets: ['  first-line\r\n  second-line  '],
      text: '[first-line] [second-line]',
      expected: '[***] [***]'
    },
    {
      name: 'the whole multi-line value too',
      secrets: ['aaaa\nbbbb'],
      text: 'x aaaa\nbbbb y',
      expected: 'x *** y'
    },
    { name: 'parts of four characters are masked', secrets: ['abcd'], text: 'abcd', expected: '***' },
    {
      name: 'parts shorter than four characters are not (they would mask ordinary words)',
      secrets: ['abc\nlonger-part'],
      text: 'abc longer-part',
      expected: 'abc ***'
    },
    {
      name: 'blank lines of a secret are not registered',
      secrets: ['\n\nvalue-1\n   \n'],
      text: ' a ',
      expected: ' a '
    }
  ])('$name', ({ secrets, text, expected }) => {
    expect(redactorOf(...secrets).redact(text)).toBe(expected)
  })

  it('keeps secrets registered by earlier calls', () => {
    const redactor = redactorOf('first-secret')
    redactor.add('second-secret')
    expect(redactor.redact('first-secret second-secret')).toBe('*** ***')
  })
})
