// The documentation's links: the README links every page of docs/, every page links back,
// and every relative link (and its #anchor) points at something that exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '..')
const pages = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').replaceAll('\r\n', '\n')

/** The text outside fenced code blocks. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```$/gm, '')

/** Every `[text](target)` link and `![alt](target)` image outside code blocks. */
const links = (text: string) => [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1])

/** The anchors GitHub gives the headings of a page. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const [, heading] of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replaceAll(' ', '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

describe('the documentation', () => {
  it('has pages in docs/, each linked from the README', () => {
    const readme = links(read('README.md'))
    expect(pages.length).toBeGreaterThan(1)
    for (const page of pages.slice(1)) expect(readme, page).toContain(page)
  })

  it.each(pages.slice(1))('%s starts with its title, a one-line description and a link back to the README', (page) => {
    const [title, blank, description] = read(page).split('\n')
    expect(title).toMatch(/^# \S/)
    expect(blank).toBe('')
    expect(description).toMatch(/\S.*\[README\]\(\.\.\/README\.md\)/)
  })

  it.each(pages)('%s: every relative link points at a file or heading that exists', (page) => {
    const targets = links(read(page)).filter((target) => !/^[a-z]+:/.test(target))
    expect(targets.length).toBeGreaterThan(0)
    for (const target of targets) {
      const [file, anchor] = target.split('#')
      const resolved = file ? path.join(path.dirname(path.join(ROOT, page)), file) : path.join(ROOT, page)
      expect(existsSync(resolved), `${page}: ${target}`).toBe(true)
      if (anchor !== undefined) expect(anchors(readFileSync(resolved, 'utf8')), `${page}: ${target}`).toContain(anchor)
    }
  })
})
