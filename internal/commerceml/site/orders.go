package site

import (
	"context"
	"errors"
)

// runOrders is the order exchange (not built yet).
func (s *Service) runOrders(ctx context.Context, set Settings, dir string, res *RunResult) error {
	return errors.New("site exchange: the order exchange is not available yet")
}
