// Seed 002/003 flows through Bitrix24's official SDK (B24Hook), pointed at
// an Obmen incoming webhook. Usage: node flows.mjs https://HOST/rest/1/CODE/
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

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

try {
  // A shop finds its client by phone, creates it if missing.
  const dup = await call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['+7 925 642-42-90'] });
  check(Array.isArray(dup) && dup.length === 0, `no client with that phone yet (${JSON.stringify(dup)})`);
  const company = await call('crm.company.add', { fields: { TITLE: 'ООО Ромашка', PHONE: [{ VALUE: '8 (925) 642-42-90', VALUE_TYPE: 'WORK' }] } });
  const contact = await call('crm.contact.add', { fields: { NAME: 'Иван', LAST_NAME: 'Петров', COMPANY_ID: company, EMAIL: [{ VALUE: 'ivan@example.ru', VALUE_TYPE: 'WORK' }] } });
  const found = await call('crm.duplicate.findbycomm', { type: 'EMAIL', values: ['IVAN@example.ru'], entity_type: 'CONTACT' });
  check(found.CONTACT && found.CONTACT.map(String).includes(String(contact)), 'contact found by e-mail');
  console.log('client', company, contact);

  // The order becomes a deal with product rows, then moves a stage.
  const categories = await call('crm.category.list', { entityTypeId: 2 });
  check(Array.isArray(categories.categories), 'categories listed');
  const stages = await call('crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE' } });
  check(stages.some((s) => s.STATUS_ID === 'WON'), 'deal stages listed');
  const deal = await call('crm.deal.add', { fields: { TITLE: 'Заказ №1001', CATEGORY_ID: 0, COMPANY_ID: company, CONTACT_ID: contact, ASSIGNED_BY_ID: 1 } });
  await call('crm.deal.productrows.set', { id: deal, rows: [{ PRODUCT_NAME: 'Баннер 3×6', PRICE: 1500.5, QUANTITY: 2.5 }] });
  const rows = await call('crm.deal.productrows.get', { id: deal });
  check(rows.length === 1 && Number(rows[0].QUANTITY) === 2.5, 'product rows stored');
  await call('crm.deal.update', { id: deal, fields: { STAGE_ID: 'WON' } });
  const got = await call('crm.deal.get', { id: deal });
  check(got.STAGE_ID === 'WON' && got.CLOSED === 'Y' && Number(got.OPPORTUNITY) === 3751.25, `deal won and totalled (${got.STAGE_ID} ${got.CLOSED} ${got.OPPORTUNITY})`);
  console.log('deal', deal, got.STAGE_ID, got.OPPORTUNITY);

  // A business process comments on the timeline and plans a call.
  await call('crm.timeline.comment.add', { fields: { ENTITY_TYPE: 'deal', ENTITY_ID: deal, COMMENT: 'Макет согласован' } });
  const act = await call('crm.activity.add', { fields: { OWNER_TYPE_ID: 2, OWNER_ID: deal, TYPE_ID: 2, SUBJECT: 'Перезвонить клиенту', RESPONSIBLE_ID: 1,
    COMMUNICATIONS: [{ VALUE: '+79256424290', TYPE: 'PHONE' }] } });
  await call('crm.activity.delete', { id: act });

  // New clients come in as leads; a list pages by 50.
  const lead = await call('crm.lead.add', { fields: { TITLE: 'Заявка из SDK', PHONE: [{ VALUE: '8 (925) 111-22-33', VALUE_TYPE: 'MOBILE' }] } });
  const leads = await call('crm.lead.list', { filter: { '%TITLE': 'SDK' }, select: ['ID', 'TITLE', 'PHONE'] });
  check(leads.length === 1 && String(leads[0].ID) === String(lead), 'lead listed');

  // A batch with a reference between commands.
  const batch = await b24.actions.v2.batch.make({
    calls: { l: { method: 'crm.lead.get', params: { id: lead } }, d: { method: 'crm.deal.get', params: { id: deal } } },
    options: { isHaltOnError: true },
  });
  check(batch.isSuccess, 'batch succeeded');
  const data = batch.getData();
  check(data.l.TITLE === 'Заявка из SDK' && data.d.STAGE_ID === 'WON', 'batch results');
  console.log('ok');
} catch (e) {
  console.error('FAIL', e && e.message ? e.message : e);
  process.exit(1);
}
