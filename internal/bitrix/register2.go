package bitrix

// registerSystem adds the system and dictionary methods of the second
// pass (issue 19): app.*, options, departments, user.search, currencies,
// enumerations, statuses, categories, timeline comments, to-dos,
// requisite links and addresses, and offline events. Kept in one place so that the method table's other
// additions merge without touching these.
func (h *Handler) registerSystem(crmScope, userScope []string) {
	deptScope := []string{"department"}
	for name, m := range map[string]method{
		"app.info":        {nil, h.appInfo},
		"app.option.get":  {nil, h.optionGet(appOptionUser)},
		"app.option.set":  {nil, h.optionSet(appOptionUser, true)},
		"user.option.get": {nil, h.optionGet(userOptionUser)},
		"user.option.set": {nil, h.optionSet(userOptionUser, false)},

		"user.search":       {userScope, h.userSearch},
		"department.get":    {deptScope, h.departmentGet},
		"department.add":    {deptScope, h.departmentAdd},
		"department.update": {deptScope, h.departmentUpdate},
		"department.delete": {deptScope, h.departmentDelete},
		"department.fields": {deptScope, h.departmentFieldsList},

		"crm.currency.list":     {crmScope, h.currencyList},
		"crm.currency.get":      {crmScope, h.currencyGet},
		"crm.currency.base.get": {crmScope, h.currencyBaseGet},
		"crm.multifield.fields": {crmScope, h.multifieldFields},
		"crm.enum.ownertype":    {crmScope, h.enumOwnerType},
		"crm.enum.activitytype": {crmScope, h.enumActivityType},
		"crm.enum.fields":       {crmScope, h.enumFields},

		"crm.status.add":              {crmScope, h.statusAdd},
		"crm.status.get":              {crmScope, h.statusGet},
		"crm.status.update":           {crmScope, h.statusUpdate},
		"crm.status.delete":           {crmScope, h.statusDelete},
		"crm.status.fields":           {crmScope, h.statusFields},
		"crm.dealcategory.stage.list": {crmScope, h.dealCategoryStageList},
		"crm.category.get":            {crmScope, h.categoryGet},
		"crm.category.add":            {crmScope, h.categoryAdd},
		"crm.category.update":         {crmScope, h.categoryUpdate},
		"crm.category.delete":         {crmScope, h.categoryDelete},
		"crm.category.fields":         {crmScope, h.categoryFields},

		"crm.timeline.comment.get":    {crmScope, h.timelineCommentGet},
		"crm.timeline.comment.update": {crmScope, h.timelineCommentUpdate},
		"crm.timeline.comment.delete": {crmScope, h.timelineCommentDelete},
		"crm.timeline.comment.fields": {crmScope, h.timelineCommentFields},
		"crm.activity.todo.add":       {crmScope, h.activityTodoAdd},

		"crm.requisite.link.register":   {crmScope, h.requisiteLinkRegister},
		"crm.requisite.link.get":        {crmScope, h.requisiteLinkGet},
		"crm.requisite.link.list":       {crmScope, h.requisiteLinkList},
		"crm.requisite.link.unregister": {crmScope, h.requisiteLinkUnregister},
		"crm.requisite.link.fields":     {crmScope, h.requisiteLinkFields},

		"crm.address.add":      {crmScope, h.addressAdd},
		"crm.address.update":   {crmScope, h.addressUpdate},
		"crm.address.delete":   {crmScope, h.addressDelete},
		"crm.address.list":     {crmScope, h.addressList},
		"crm.address.fields":   {crmScope, h.addressFields},
		"crm.enum.addresstype": {crmScope, h.enumAddressType},
	} {
		h.methods[name] = m
	}
	if h.delivery != nil {
		// Served with event.bind, whose offline bindings fill the queue;
		// as event.bind, they ask no scope.
		h.methods["event.offline.get"] = method{nil, h.eventOfflineGet}
		h.methods["event.offline.clear"] = method{nil, h.eventOfflineClear}
		h.methods["event.offline.list"] = method{nil, h.eventOfflineList}
		h.methods["event.offline.error"] = method{nil, h.eventOfflineError}
	}
}
