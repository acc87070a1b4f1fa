// Presence on an action (issue 20, item 2): two people on one action see
// each other ("D. Hughes (editing the description)", the name the server set
// from the session), each sees the other's caret in the shared text, and a
// colleague's typing never moves your own caret (it jumped to the end:
// every remote change re-set the textarea's value). A standard y-websocket
// client's presence shows up too, under the name of its session whatever
// name it claims.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  PlaitServer, launchBrowser, newPage, signIn, waitForActionDetail, waitForAllSaved,
  eventually, onFailure, demoState, apiSignIn, toolsRequire, runAxe, assertNothingSerious,
  scrollsSideways
} from './support.mjs'

let server
let browser
/// The action both work on: D. Hughes's, in progress (its owner may
/// change its description), and its path.
let target
let link

before(async () => {
  server = await PlaitServer.start('presence')
  browser = await launchBrowser()
  const { actions } = await demoState(server)
  const lastStatus = (json) => json.transitions.at(-1)?.to
  target = actions.find((a) => a.json.owner === 'd.hughes' && lastStatus(a.json) === 'in_progress')
  assert.ok(target, 'an action of D. Hughes in progress')
  link = `/p/demo/actions/${target.plan}/${target.id}`
})

after(async () => {
  await browser?.close()
  await server?.kill()
})

/// The caret and selection of the description (UTF-16 offsets, as the
/// browser counts them), and whether it has the focus.
function caretOf (page) {
  return page.locator('#description').evaluate((el) => ({
    start: el.selectionStart, end: el.selectionEnd, focused: document.activeElement === el, value: el.value
  }))
}

/// Opens the action as `username` in a fresh context and waits for its
/// editable description.
async function openAs (username) {
  const opened = await newPage(browser)
  await signIn(opened.page, username, { url: server.url + link })
  await waitForActionDetail(opened.page)
  await opened.page.locator('#description').waitFor({ state: 'visible' })
  assert.equal(await opened.page.locator('#description').getAttribute('readonly'), null,
    `${username} may edit the description`)
  return opened
}

const SEED = 'Ward 4 – café ✓ checked daily'
// After "✓ ": the logical place A's caret is put (UTF-16 code units; "–",
// "é" and "✓" are one each).
const CARET = SEED.indexOf('checked')

test('a colleague typing before and after your caret never moves it', async () => {
  const a = await openAs('d.hughes')
  const b = await openAs('chief.nurse')
  const fieldA = a.page.locator('#description')
  const fieldB = b.page.locator('#description')
  await onFailure('presence-caret', { pages: { a: a.page, b: b.page }, server }, async () => {
    await fieldA.fill(SEED)
    await waitForAllSaved(a.page)
    await eventually(async () => (await fieldB.inputValue()) === SEED, { message: 'B seeing A\'s text' })

    // A puts the caret in the middle, as a person does: a click, then keys.
    await fieldA.click()
    await a.page.keyboard.press('Control+Home')
    for (let i = 0; i < CARET; i++) await a.page.keyboard.press('ArrowRight')
    assert.deepEqual(await caretOf(a.page), { start: CARET, end: CARET, focused: true, value: SEED })

    // B types before A's caret...
    await fieldB.click()
    await b.page.keyboard.press('Control+Home')
    await b.page.keyboard.type('Bay 2, ')
    let expected = 'Bay 2, ' + SEED
    await eventually(async () => (await fieldA.inputValue()) === expected, { message: 'A seeing B\'s first words' })
    let caret = await caretOf(a.page)
    assert.deepEqual(caret, { start: CARET + 7, end: CARET + 7, focused: true, value: expected },
      'A\'s caret moved on by the 7 characters typed before it')

    // ... and after it.
    await b.page.keyboard.press('Control+End')
    await b.page.keyboard.type(' and weekly')
    expected += ' and weekly'
    await eventually(async () => (await fieldA.inputValue()) === expected, { message: 'A seeing B\'s last words' })
    caret = await caretOf(a.page)
    assert.deepEqual(caret, { start: CARET + 7, end: CARET + 7, focused: true, value: expected },
      'A\'s caret stayed where it was when B typed after it')

    // A keeps typing where the caret logically is.
    await a.page.keyboard.type('re-')
    const mine = 'Bay 2, Ward 4 – café ✓ re-checked daily and weekly'
    await eventually(async () => (await fieldB.inputValue()) === mine, { message: 'B seeing A type in the middle' })
    assert.equal(await fieldA.inputValue(), mine)
    assert.equal((await caretOf(a.page)).start, CARET + 7 + 3)
    await waitForAllSaved(a.page)
    await waitForAllSaved(b.page)
    assert.deepEqual([...a.page.crashes, ...b.page.crashes], [])
  })
  await a.context.close()
  await b.context.close()
})

/// The presence line of a page ("Also here: ...").
const presenceOf = (page) => page.locator('[data-testid=presence]').innerText().catch(() => '')

test('two people on one action see each other, their carets, and a Yjs client under its session\'s name', async () => {
  const a = await openAs('d.hughes')
  const b = await openAs('chief.nurse')
  const fieldA = a.page.locator('#description')
  const fieldB = b.page.locator('#description')
  const Y = toolsRequire('yjs')
  const { WebsocketProvider } = toolsRequire('y-websocket')
  const WebSocket = toolsRequire('ws')
  let provider
  // The Yjs document (its awareness keeps a timer until it is destroyed).
  const doc = new Y.Doc()
  await onFailure('presence', { pages: { a: a.page, b: b.page }, server }, async () => {
    // A edits the description: B sees who, and in which field.
    await fieldA.click()
    await a.page.keyboard.press('Control+End')
    await eventually(async () => /D\. Hughes \(editing the description\)/.test(await presenceOf(b.page)),
      { message: 'B seeing "D. Hughes (editing the description)"' })
    // A sees B, who is on the page but in no field.
    await eventually(async () => /Chief Nurse/.test(await presenceOf(a.page)), { message: 'A seeing Chief Nurse' })
    assert.doesNotMatch(await presenceOf(a.page), /D\. Hughes/, 'nobody is listed as here with themselves')

    // B puts the caret in the description: A sees it, labelled, inside the field.
    await fieldB.click()
    await b.page.keyboard.press('Control+Home')
    for (let i = 0; i < 4; i++) await b.page.keyboard.press('ArrowRight')
    const caret = a.page.locator('#description-presence .plait-caret', { hasText: 'Chief Nurse' })
    await caret.waitFor({ state: 'attached', timeout: 20_000 })
    await eventually(async () => /Chief Nurse \(editing the description\)/.test(await presenceOf(a.page)),
      { message: 'A seeing "Chief Nurse (editing the description)"' })
    const field = await fieldA.boundingBox()
    const bar = await eventually(async () => {
      const box = await caret.boundingBox()
      return box && box.x > field.x + 8 && box
    }, { message: 'B\'s caret drawn after the first characters' })
    assert.ok(bar.x < field.x + field.width && bar.y >= field.y - 1 && bar.y < field.y + field.height,
      `B's caret ${JSON.stringify(bar)} lies inside A's field ${JSON.stringify(field)}`)
    assert.equal(await a.page.locator('#description-presence').getAttribute('aria-hidden'), 'true')

    // A standard y-websocket client, signed in as the Compliance Team,
    // claims another name and puts its cursor in the description.
    const { token } = await apiSignIn(server, 'compliance')
    provider = new WebsocketProvider(server.url.replace(/^http/, 'ws') + '/sync', target.plan, doc, {
      WebSocketPolyfill: WebSocket, params: { token }, disableBc: true
    })
    await new Promise((resolve) => provider.synced ? resolve() : provider.once('sync', resolve))
    const description = doc.getMap('actions').get(target.id).get('description')
    assert.ok(description instanceof Y.Text, 'the description is a Y.Text')
    const at = Y.createRelativePositionFromTypeIndex(description, 2)
    provider.awareness.setLocalState({
      user: { name: 'Someone Else', id: 'someone.else' },
      cursor: { anchor: at, head: at }
    })
    await eventually(async () => /Compliance Team \(editing the description\)/.test(await presenceOf(a.page)),
      { message: 'A seeing the Yjs client as "Compliance Team (editing the description)"' })
    await a.page.locator('#description-presence .plait-caret', { hasText: 'Compliance Team' }).waitFor({ state: 'attached' })
    for (const page of [a.page, b.page]) {
      assert.doesNotMatch(await page.locator('main').innerText(), /Someone Else/, 'never the name a client claims')
    }
    // Plait's own presence reads in Yjs: the server's names, and A's
    // cursor as a relative position in the description.
    const states = await eventually(() => {
      const all = [...provider.awareness.getStates().values()]
      const hughes = all.find((s) => s.user?.name === 'D. Hughes' && s.cursor)
      return hughes && all.some((s) => s.user?.name === 'Chief Nurse') && { all, hughes }
    }, { message: 'the Yjs client seeing D. Hughes\'s cursor and Chief Nurse' })
    const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(states.hughes.cursor.head), doc)
    assert.ok(head?.type === description, 'D. Hughes\'s cursor lies in the description')
    assert.equal(head.index, description.length, 'at its end, where A put it')

    // Accessible with presence shown, and no sideways scroll at 320 px.
    assertNothingSerious('an action with presence', await runAxe(a.page, 'an action with presence'))
    await a.page.setViewportSize({ width: 320, height: 800 })
    await fieldA.scrollIntoViewIfNeeded()
    assert.equal(await scrollsSideways(a.page), false, 'no sideways scroll at 320 px with presence and carets')
    assertNothingSerious('an action with presence at 320 px', await runAxe(a.page, 'an action with presence at 320 px'))

    // Leaving: the Yjs client goes, and B's page stops showing A once A
    // leaves the action.
    provider.destroy()
    provider = null
    await eventually(async () => !/Compliance Team/.test(await presenceOf(a.page)), { message: 'the Yjs client gone from A\'s page' })
    await a.page.goto(server.url + '/p/demo/actions')
    await eventually(async () => !/D\. Hughes/.test(await presenceOf(b.page)), { message: 'A gone from B\'s page' })
    // On the action list, A sees who has the plan open.
    await eventually(async () => /Chief Nurse/.test(await presenceOf(a.page)), { message: 'the action list naming Chief Nurse' })
    assert.deepEqual([...a.page.crashes, ...b.page.crashes], [])
  }).finally(() => {
    provider?.destroy()
    doc.destroy()
  })
  await a.context.close()
  await b.context.close()
})
