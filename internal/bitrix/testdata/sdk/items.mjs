// The universal CRM API (crm.item.*, crm.item.productrow.*, user fields)
// through Bitrix24's official SDK (B24Hook), pointed at an Obmen incoming
// webhook. Usage: node items.mjs https://HOST/rest/1/CODE/
// Prints one line per step and exits non-zero on the first failure.
import { B24Hook } from '@bitrix24/b24jssdk';

const b24 = B24Hook.fromWebhookUrl(process.argv[2]);
b24.offClientSideWarning();

async function call(method, params) {
  const res = await b24.actions.v2.call.make({ method, params });
  if (!res.isSuccess) {
    throw new Error(`${method}: ${res.getErrorMessages().join('; ')}`);
  }
  return res.getData().result;
}

// fails calls a method that must fail and answers the error's text. An
// error with an empty code (crm.address.*, as Bitrix24 answers them) makes
// the SDK say only "Request failed with status code 400": the portal's
// error_description is read from the response it keeps.
async function fails(method, params) {
  let res;
  try {
    res = await b24.actions.v2.call.make({ method, params });
  } catch (e) {
    const body = e && e.originalError && e.originalError.response ? e.originalError.response.data : undefined;
    return [String(e && e.message ? e.message : e), body && body.error_description].filter(Boolean).join(' | ');
  }
  if (res.isSuccess) throw new Error(`${method}: succeeded, want an error`);
  return res.getErrorMessages().join('; ');
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const ids = (items) => items.map((i) => Number(i.id)).sort((a, b) => a - b);

try {
  // A full cycle through crm.item.* for each type Obmen keeps.
  const types = [
    { id: 1, add: { title: 'Заявка из SDK', name: 'Иван', fm: [{ typeId: 'PHONE', valueType: 'WORK', value: '+7 925 000-11-22' }] }, field: 'stageId', value: 'IN_PROCESS' },
    { id: 2, add: { title: 'Сделка из SDK', opportunity: 1500.5, currencyId: 'RUB' }, field: 'stageId', value: 'PREPARATION' },
    { id: 3, add: { name: 'Анна', lastName: 'Смирнова', fm: [{ typeId: 'EMAIL', valueType: 'WORK', value: 'anna@example.ru' }] }, field: 'lastName', value: 'Петрова' },
    { id: 4, add: { title: 'ООО Ромашка' }, field: 'title', value: 'ООО «Ромашка»' },
    { id: 31, add: { title: 'Счёт из SDK', currencyId: 'RUB' }, field: 'title', value: 'Счёт из SDK (исправлен)' },
  ];
  for (const t of types) {
    const added = await call('crm.item.add', { entityTypeId: t.id, fields: t.add });
    const id = added.item.id;
    check(typeof id === 'number' && added.item.entityTypeId === t.id, `type ${t.id}: added item ${JSON.stringify(added.item).slice(0, 200)}`);
    const got = await call('crm.item.get', { entityTypeId: t.id, id });
    for (const [k, v] of Object.entries(t.add)) {
      if (k === 'fm') check(got.item.fm.some((m) => m.value === v[0].value), `type ${t.id}: fm kept`);
      else if (k === 'opportunity') check(got.item.opportunity === v, `type ${t.id}: opportunity ${got.item.opportunity}`);
      else check(got.item[k] === v, `type ${t.id}: ${k} = ${got.item[k]}, want ${v}`);
    }
    const upd = await call('crm.item.update', { entityTypeId: t.id, id, fields: { [t.field]: t.value } });
    check(upd.item[t.field] === t.value, `type ${t.id}: updated ${t.field}`);
    const list = await call('crm.item.list', { entityTypeId: t.id, filter: { [`=${t.field}`]: t.value }, select: ['id', t.field] });
    check(list.items.length === 1 && list.items[0].id === id, `type ${t.id}: listed by ${t.field} (${JSON.stringify(list.items)})`);
    await call('crm.item.delete', { entityTypeId: t.id, id });
    const gone = await fails('crm.item.get', { entityTypeId: t.id, id });
    check(/not found/i.test(gone), `type ${t.id}: deleted item not found (${gone})`);
    console.log('item', t.id, id);
  }
  const quote = await fails('crm.item.list', { entityTypeId: 7 });
  check(/not supported/i.test(quote), `quotes are not supported (${quote})`);

  // Product rows of a deal through crm.item.productrow.*.
  const deal = (await call('crm.item.add', { entityTypeId: 2, fields: { title: 'Заказ с товарами' } })).item.id;
  const row = (await call('crm.item.productrow.add', { fields: { ownerType: 'D', ownerId: deal, productName: 'Фотокнига 20×30', price: 2500, quantity: 2 } })).productRow;
  check(row.ownerId === deal && row.price === 2500 && row.quantity === 2, `row added ${JSON.stringify(row)}`);
  const upd = (await call('crm.item.productrow.update', { id: row.id, fields: { quantity: 3 } })).productRow;
  check(upd.id === row.id && upd.quantity === 3, `row updated keeps its id ${JSON.stringify(upd)}`);
  const set = (await call('crm.item.productrow.set', { ownerType: 'D', ownerId: deal, productRows: [
    { id: row.id, productName: 'Фотокнига 20×30', price: 2500, quantity: 3 }, { productName: 'Доставка', price: 400, quantity: 1 }] })).productRows;
  check(set.length === 2 && set[0].id === row.id, `rows set ${JSON.stringify(set)}`);
  const rows = (await call('crm.item.productrow.list', { filter: { '=ownerType': 'D', '=ownerId': deal } })).productRows;
  check(rows.length === 2, 'rows listed');
  const dealNow = (await call('crm.item.get', { entityTypeId: 2, id: deal })).item;
  check(dealNow.opportunity === 7900, `deal amount follows its rows (${dealNow.opportunity})`);
  await call('crm.item.productrow.delete', { id: row.id });
  const left = (await call('crm.item.productrow.list', { filter: { '=ownerType': 'D', '=ownerId': deal } })).productRows;
  check(left.length === 1 && left[0].productName === 'Доставка', 'row deleted');
  console.log('rows', deal);

  // A user field made by the SDK, then set and filtered.
  const uf = await call('crm.deal.userfield.add', { fields: { FIELD_NAME: 'SDK_ORDER', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: { ru: 'Номер заказа', en: 'Order' } } });
  const ufGot = await call('crm.deal.userfield.get', { id: uf });
  check(ufGot.FIELD_NAME === 'UF_CRM_SDK_ORDER', `user field made (${ufGot.FIELD_NAME})`);
  const d1 = (await call('crm.item.add', { entityTypeId: 2, fields: { title: 'С номером', ufCrmSdkOrder: 'ПП-17' } })).item.id;
  await call('crm.deal.update', { id: deal, fields: { UF_CRM_SDK_ORDER: 'ПП-18' } });
  const byUF = await call('crm.item.list', { entityTypeId: 2, filter: { '%ufCrmSdkOrder': 'пп-1' }, select: ['id', 'ufCrmSdkOrder'] });
  check(JSON.stringify(ids(byUF.items)) === JSON.stringify([deal, d1].sort((a, b) => a - b)), `filtered by the user field ${JSON.stringify(byUF.items)}`);
  const legacy = await call('crm.deal.list', { filter: { UF_CRM_SDK_ORDER: 'ПП-17' }, select: ['ID', 'UF_CRM_SDK_ORDER'] });
  check(legacy.length === 1 && Number(legacy[0].ID) === d1 && legacy[0].UF_CRM_SDK_ORDER === 'ПП-17', 'legacy list by the user field');
  console.log('userfield', uf);

  // An OR filter with LOGIC, and a Cyrillic filter ignoring case.
  const won = (await call('crm.item.add', { entityTypeId: 2, fields: { title: 'Заявка выиграна', stageId: 'WON' } })).item.id;
  const big = (await call('crm.item.add', { entityTypeId: 2, fields: { title: 'Крупный заказ', opportunity: 100000 } })).item.id;
  const or = await call('crm.item.list', { entityTypeId: 2, filter: { logic: 'OR', '=stageId': 'WON', '>opportunity': 50000 }, select: ['id'] });
  check(JSON.stringify(ids(or.items)) === JSON.stringify([won, big]), `OR filter ${JSON.stringify(or.items)}`);
  const nested = await call('crm.item.list', { entityTypeId: 2, filter: { '%title': 'заказ', 0: { logic: 'OR', '=stageId': 'WON', '>opportunity': 50000 } }, select: ['id'] });
  check(JSON.stringify(ids(nested.items)) === JSON.stringify([big]), `nested OR filter ${JSON.stringify(nested.items)}`);
  for (const q of ['заяв', 'ЗАЯВ']) {
    const found = await call('crm.item.list', { entityTypeId: 2, filter: { '%title': q }, select: ['id', 'title'] });
    check(found.items.some((i) => i.id === won), `%title ${q} finds "Заявка выиграна" (${JSON.stringify(found.items)})`);
  }
  const lead = await call('crm.lead.add', { fields: { TITLE: 'Лид', NAME: 'Иван' } });
  for (const q of ['иван', 'ИВАН']) {
    const found = await call('crm.lead.list', { filter: { NAME: q }, select: ['ID', 'NAME'] });
    check(found.some((l) => Number(l.ID) === lead), `NAME ${q} finds Иван`);
  }
  console.log('filters', won, big);

  // Typed addresses of a company's requisite through crm.address.*.
  const company = (await call('crm.item.add', { entityTypeId: 4, fields: { title: 'ООО Адреса' } })).item.id;
  const rq = await call('crm.requisite.add', { fields: { ENTITY_TYPE_ID: 4, ENTITY_ID: company, PRESET_ID: 1, NAME: 'Организация' } });
  const key = { TYPE_ID: 6, ENTITY_TYPE_ID: 8, ENTITY_ID: rq };
  check(await call('crm.address.add', { fields: { ...key, ADDRESS_1: 'ул. Ленина, 1', CITY: 'Москва', POSTAL_CODE: '101000', COUNTRY: 'Россия' } }) === true, 'address added');
  const dup = await fails('crm.address.add', { fields: { ...key, CITY: 'Тверь' } });
  check(/TypeAddress exists/.test(dup), `a second legal address is refused (${dup})`);
  await call('crm.address.add', { fields: { TYPE_ID: 1, ENTITY_TYPE_ID: 8, ENTITY_ID: rq, CITY: 'Химки' } });
  check(await call('crm.address.update', { fields: { ...key, ADDRESS_2: 'офис 5' } }) === true, 'address updated');
  const addrs = await call('crm.address.list', { filter: { ENTITY_TYPE_ID: 8, ENTITY_ID: rq }, order: { TYPE_ID: 'DESC' } });
  check(addrs.length === 2 && addrs[0].TYPE_ID === '6' && addrs[0].CITY === 'Москва' && addrs[0].ADDRESS_2 === 'офис 5'
    && addrs[0].ANCHOR_TYPE_ID === '4' && Number(addrs[0].ANCHOR_ID) === company && addrs[1].CITY === 'Химки', `addresses listed ${JSON.stringify(addrs)}`);
  check(await call('crm.address.delete', { fields: key }) === true, 'address deleted');
  const gone = await fails('crm.address.delete', { fields: key });
  check(/TypeAddress not found/.test(gone), `deleted address not found (${gone})`);
  const rest = await call('crm.address.list', { filter: { ENTITY_ID: rq } });
  check(rest.length === 1 && rest[0].TYPE_ID === '1', `one address left ${JSON.stringify(rest)}`);
  console.log('addresses', rq);
  console.log('ok');
} catch (e) {
  console.error('FAIL', e && e.message ? e.message : e);
  process.exit(1);
}
