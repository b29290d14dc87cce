// The SDK's standard start-up, B24HelperManager.loadData(), against an
// Obmen incoming webhook: app.info, profile, currencies and the app and
// user options in one batch with halt=1, then crm.currency.get for every
// currency. Usage: node helper.mjs https://HOST/rest/1/CODE/
// Prints what it loaded and "ok"; exits non-zero on the first failure.
import { B24Hook, B24HelperManager, LoadDataType } from '@bitrix24/b24jssdk';

const b24 = B24Hook.fromWebhookUrl(process.argv[2]);
b24.offClientSideWarning();

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

try {
  // Options set first, so that loadData has some to read back.
  for (const [method, options] of [['app.option.set', { theme: 'dark', limits: { rows: 50 } }], ['user.option.set', { lastTab: 'deals' }]]) {
    const res = await b24.actions.v2.call.make({ method, params: { options } });
    check(res.isSuccess && res.getData().result === true, `${method}: ${res.getErrorMessages().join('; ')}`);
  }

  const helper = new B24HelperManager(b24);
  await helper.loadData([LoadDataType.App, LoadDataType.Profile, LoadDataType.Currency, LoadDataType.AppOptions, LoadDataType.UserOptions]);
  check(helper.isInit, 'helper initialised');

  const app = helper.appInfo.data;
  check(app.status === 'L' && app.isInstalled === true && Number.isInteger(app.id) && app.id > 0, `local app installed (${JSON.stringify(app)})`);
  check(helper.appInfo.statusCode === 'Local', `status named Local (${helper.appInfo.statusCode})`);
  check(helper.paymentInfo.data.isExpired === false, 'payment not expired');
  check(helper.isSelfHosted === true && helper.primaryKeyIncrementValue === 1, 'self-hosted, ids step by 1');
  console.log('app', app.id, app.code, helper.licenseInfo.data.license);

  const profile = helper.profileInfo.data;
  check(profile.id === Number(process.argv[2].split('/rest/')[1].split('/')[0]) && profile.isAdmin === true && profile.name !== '', `profile of the webhook's admin (${JSON.stringify(profile)})`);
  console.log('profile', profile.id, profile.name, profile.lastName);

  const cur = helper.currency;
  check(cur.baseCurrency === 'RUB', `base currency RUB (${cur.baseCurrency})`);
  check(cur.currencyList.includes('RUB') && cur.currencyList.includes('USD'), `currencies listed (${cur.currencyList})`);
  // The per-currency crm.currency.get batch filled the language formats.
  check(cur.getCurrencyFullName('RUB', 'ru') === 'Российский рубль', `RUB's name in ru (${cur.getCurrencyFullName('RUB', 'ru')})`);
  check(cur.getCurrencyLiteral('RUB', 'ru') === '₽', `RUB's sign (${cur.getCurrencyLiteral('RUB', 'ru')})`);
  const formatted = cur.format(1234567.5, 'RUB', 'ru');
  check(formatted.includes('₽') && formatted.includes('234'), `an amount formatted (${formatted})`);
  console.log('currency', cur.baseCurrency, cur.currencyList.join(','), formatted);

  check(helper.appOptions.getString('theme') === 'dark', `app option theme (${helper.appOptions.getString('theme')})`);
  check(helper.appOptions.getJsonObject('limits').rows === 50, 'app option holding JSON');
  check(helper.userOptions.getString('lastTab') === 'deals', 'user option lastTab');
  console.log('ok');
} catch (e) {
  console.error('FAIL', e && e.message ? e.message : e);
  process.exit(1);
}
