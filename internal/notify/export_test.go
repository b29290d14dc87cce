package notify

import "github.com/riverqueue/river"

// SendJob is the send job of a notification over a channel, for the tests
// that enqueue one again.
func SendJob(id int64, channel string) river.JobArgs {
	return sendArgs{NotificationID: id, Channel: channel}
}
